//! The government directory: the real five-level administrative divisions of
//! Zhejiang (province, city, county, township, village; GB/T 2260 codes) and
//! China's province codes, shipped in `host/data/divisions/` and loaded into
//! the store's `divisions` tree at first start.

use serde::{Deserialize, Serialize};

use crate::store::{self, Store, StoreError, trees};

/// Level of government a division belongs to, by the length of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 省, 2-digit code.
    Province,
    /// 地级市, 4-digit code.
    City,
    /// 县、区, 6-digit code.
    County,
    /// 乡镇、街道, 9-digit code.
    Township,
    /// 村、居委会, 12-digit code.
    Village,
}

impl Level {
    /// The level a code of this length names (2, 4, 6, 9 or 12 digits).
    pub fn of_code(code: &str) -> Option<Level> {
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match code.len() {
            2 => Level::Province,
            4 => Level::City,
            6 => Level::County,
            9 => Level::Township,
            12 => Level::Village,
            _ => return None,
        })
    }

    /// The level directly below this one (`None` for a village).
    pub fn below(self) -> Option<Level> {
        Some(match self {
            Level::Province => Level::City,
            Level::City => Level::County,
            Level::County => Level::Township,
            Level::Township => Level::Village,
            Level::Village => return None,
        })
    }

    /// Length of a code of this level (2, 4, 6, 9 or 12 digits).
    pub fn code_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }
}

/// Code of Zhejiang province, the root of the five-level data.
pub const ZHEJIANG: &str = "33";

/// One administrative division.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Division {
    /// GB/T 2260 code (2, 4, 6, 9 or 12 digits).
    pub code: String,
    /// Official Chinese name, e.g. `杭州市`.
    pub name: String,
    /// Level of government.
    pub level: Level,
    /// Code of the enclosing division (`None` for a province).
    pub parent: Option<String>,
    /// Whether the division is in Zhejiang's five-level data (false for the
    /// other provinces, known only for identity-number checks).
    pub zhejiang: bool,
}

const PROVINCES: &str = include_str!("../data/divisions/provinces.csv");
const CITIES: &str = include_str!("../data/divisions/cities.csv");
const COUNTIES: &str = include_str!("../data/divisions/counties.csv");
const TOWNSHIPS: &str = include_str!("../data/divisions/townships.csv");
const VILLAGES: &str = include_str!("../data/divisions/villages.csv");
const CHINA_PROVINCES: &str = include_str!("../data/divisions/china-provinces.csv");

/// Bumped when the shipped data changes, so that a host reloads it.
const DATA_EDITION: &[u8] = b"2023-06-30";
const META_KEY: &str = "divisions_edition";

/// Read access to the divisions in the store.
#[derive(Clone)]
pub struct Directory {
    tree: sled::Tree,
}

impl Directory {
    /// Opens the directory, loading the shipped data into the store when it
    /// is missing or from an older edition.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let tree = store.tree(trees::DIVISIONS)?;
        let meta = store.tree(trees::META)?;
        if meta.get(META_KEY)?.as_deref() != Some(DATA_EDITION) {
            load(&tree)?;
            meta.insert(META_KEY, DATA_EDITION)?;
            tracing::info!(divisions = tree.len(), "loaded administrative divisions");
        }
        Ok(Self { tree })
    }

    /// The division with this code, if it exists.
    pub fn get(&self, code: &str) -> Result<Option<Division>, StoreError> {
        store::get_json(&self.tree, code)
    }

    /// The division and its ancestors, province first.
    pub fn path(&self, code: &str) -> Result<Vec<Division>, StoreError> {
        let mut out = Vec::new();
        let mut next = Some(code.to_string());
        while let Some(code) = next {
            match self.get(&code)? {
                Some(division) => {
                    next = division.parent.clone();
                    out.push(division);
                }
                None => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The divisions directly below `code`, in code order: Zhejiang's
    /// cities, a city's counties, a county's townships, a township's
    /// villages. Empty for a village, for a province outside Zhejiang
    /// (whose lower levels are not shipped) and for an unknown code.
    ///
    /// Codes begin with their parent's code (GB/T 2260), so the children
    /// are found by seeking: one range lookup per child, skipping each
    /// child's own descendants, instead of a scan of the subtree.
    pub fn children(&self, code: &str) -> Result<Vec<Division>, StoreError> {
        let Some(child_len) = Level::of_code(code)
            .and_then(Level::below)
            .map(Level::code_len)
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        // Start just after the parent's own key.
        let mut from = [code.as_bytes(), &[0]].concat();
        while let Some(entry) = self.tree.range(from.as_slice()..).next() {
            let (key, value) = entry?;
            if !key.starts_with(code.as_bytes()) {
                break;
            }
            if key.len() < child_len {
                // Not a code of the levels below: step over it.
                from = [key.as_ref(), &[0]].concat();
                continue;
            }
            if key.len() == child_len {
                let division: Division = serde_json::from_slice(&value)?;
                if division.parent.as_deref() == Some(code) {
                    out.push(division);
                }
            }
            // Next: the first key past this child's subtree.
            from = successor(&key[..child_len]);
        }
        Ok(out)
    }

    /// Whether `code` names a province of China (two digits).
    pub fn is_province(&self, code: &str) -> Result<bool, StoreError> {
        Ok(code.len() == 2 && self.get(code)?.is_some())
    }
}

/// The smallest key greater than every key that begins with `prefix` (the
/// prefix's last byte plus one; codes are ASCII digits, so it never
/// overflows).
fn successor(prefix: &[u8]) -> Vec<u8> {
    let mut next = prefix.to_vec();
    if let Some(last) = next.last_mut() {
        *last = last.saturating_add(1);
    }
    next
}

fn load(tree: &sled::Tree) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    let mut add = |division: Division| -> Result<(), StoreError> {
        batch.insert(division.code.as_bytes(), serde_json::to_vec(&division)?);
        Ok(())
    };
    for row in rows(CHINA_PROVINCES) {
        add(division(&row[0], &row[1], None, row[0] == "33"))?;
    }
    for row in rows(PROVINCES) {
        add(division(&row[0], &row[1], None, true))?;
    }
    // cities: code,name,provinceCode; counties: code,name,cityCode,...;
    // townships: code,name,areaCode,...; villages: code,name,streetCode,...
    for data in [CITIES, COUNTIES, TOWNSHIPS, VILLAGES] {
        for row in rows(data) {
            add(division(&row[0], &row[1], Some(&row[2]), true))?;
        }
    }
    tree.apply_batch(batch)?;
    Ok(())
}

fn division(code: &str, name: &str, parent: Option<&str>, zhejiang: bool) -> Division {
    Division {
        code: code.to_string(),
        name: name.to_string(),
        level: Level::of_code(code).unwrap_or(Level::Village),
        parent: parent.map(str::to_string),
        zhejiang,
    }
}

/// Rows of a shipped CSV file (header skipped). The files are part of the
/// binary and checked by the tests, so a malformed row is a build defect.
fn rows(data: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    csv::Reader::from_reader(data.as_bytes())
        .into_records()
        .map(|record| {
            record
                .expect("shipped division CSV is well-formed")
                .iter()
                .map(str::to_string)
                .collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_all_five_levels_with_parents() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let directory = Directory::open(&store).unwrap();
        let names: Vec<String> = directory
            .path("330102001051")
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(
            names,
            ["浙江省", "杭州市", "上城区", "清波街道", "清波门社区"]
        );
        assert_eq!(directory.get("3301").unwrap().unwrap().level, Level::City);
        assert!(directory.is_province("11").unwrap());
        assert!(!directory.is_province("99").unwrap());
        // 1 + 11 + 90 + 1,387 + 25,547 in Zhejiang, plus 30 other provinces.
        assert_eq!(store.tree(trees::DIVISIONS).unwrap().len(), 27_036 + 30);
    }

    #[test]
    fn children_are_the_next_level_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let directory = Directory::open(&store).unwrap();
        let names = |code: &str| -> Vec<String> {
            directory
                .children(code)
                .unwrap()
                .into_iter()
                .map(|d| d.name)
                .collect()
        };
        let cities = directory.children(ZHEJIANG).unwrap();
        assert_eq!(cities.len(), 11);
        assert_eq!(
            (cities[0].code.as_str(), cities[0].level),
            ("3301", Level::City)
        );
        assert_eq!(cities[10].name, "丽水市");
        let hangzhou = names("3301");
        assert_eq!(hangzhou.len(), 13);
        assert!(hangzhou.contains(&"桐庐县".to_string()), "{hangzhou:?}");
        let tonglu = directory.children("330122").unwrap();
        assert_eq!(tonglu.len(), 14);
        assert!(
            tonglu
                .iter()
                .all(|d| d.level == Level::Township && d.parent.as_deref() == Some("330122"))
        );
        assert!(names("330122").contains(&"分水镇".to_string()));
        assert_eq!(names("330102001").len(), 5);
        // A village, a province outside Zhejiang, unknown and malformed codes.
        for none in ["330102001051", "11", "3399", "x", ""] {
            assert!(names(none).is_empty(), "{none}");
        }
    }
}

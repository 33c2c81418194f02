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
}

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

    /// Whether `code` names a province of China (two digits).
    pub fn is_province(&self, code: &str) -> Result<bool, StoreError> {
        Ok(code.len() == 2 && self.get(code)?.is_some())
    }
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
}

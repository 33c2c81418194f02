//! The government directory: the real five-level administrative divisions of
//! Zhejiang (province, city, county, township, village; GB/T 2260 codes) and
//! China's province codes, shipped in `host/domain/data/divisions/` and loaded into
//! the `divisions` table once per edition of the data (marker
//! `divisions_edition` in the `meta` table; [`Directory::load_shipped`]).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use cityhost_store::{Db, Scan, StoreError};
use serde::{Deserialize, Serialize};

use crate::meta::META;
use tables::DIVISIONS;

/// The directory's table.
pub(crate) mod tables {
    use cityhost_store::Table;

    use super::Division;

    /// division code → [`Division`].
    pub(crate) const DIVISIONS: Table<String, Division> = Table::new("divisions");
}

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
const DATA_EDITION: &str = "2023-06-30";
/// Key of the loaded edition in the `meta` table.
const META_KEY: &str = "divisions_edition";

/// The province codes of the shipped data (China's and Zhejiang's), for
/// [`Directory::is_province`].
static PROVINCE_CODES: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    rows(CHINA_PROVINCES)
        .chain(rows(PROVINCES))
        .map(|row| row[0].clone())
        .collect()
});

/// Read access to the divisions in the store.
#[derive(Clone)]
pub struct Directory {
    db: Db,
}

impl Directory {
    /// The directory over `db`; [`Directory::load_shipped`] fills it at
    /// start.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Loads the shipped data into the store when it is missing or from an
    /// older edition: every division and the edition marker in one
    /// transaction, so a host stopped half-way loads again at its next
    /// start. A store already holding this edition is left as it is.
    pub async fn load_shipped(&self) -> Result<(), StoreError> {
        let loaded = self.db.get(&META, META_KEY).await?;
        if loaded.as_ref().and_then(serde_json::Value::as_str) == Some(DATA_EDITION) {
            return Ok(());
        }
        let divisions = shipped();
        let count = divisions.len();
        self.db
            .transact(|tx| {
                let divisions = &divisions;
                async move {
                    for division in divisions {
                        tx.put(&DIVISIONS, &division.code, division).await?;
                    }
                    tx.put(&META, META_KEY, &DATA_EDITION.into()).await?;
                    Ok::<_, StoreError>(())
                }
            })
            .await?;
        tracing::info!(divisions = count, "loaded administrative divisions");
        Ok(())
    }

    /// The division with this code, if it exists.
    pub async fn get(&self, code: &str) -> Result<Option<Division>, StoreError> {
        self.db.get(&DIVISIONS, code).await
    }

    /// The division and its ancestors, province first.
    pub async fn path(&self, code: &str) -> Result<Vec<Division>, StoreError> {
        let mut out = Vec::new();
        let mut next = Some(code.to_string());
        while let Some(code) = next {
            match self.get(&code).await? {
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
    /// Codes begin with their parent's code (GB/T 2260), and the table's
    /// key order is the codes' order, so the children are found by seeking:
    /// one one-record scan per child, skipping each child's own
    /// descendants, instead of a scan of the subtree.
    pub async fn children(&self, code: &str) -> Result<Vec<Division>, StoreError> {
        let Some(child_len) = Level::of_code(code)
            .and_then(Level::below)
            .map(Level::code_len)
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        // Start just after the parent's own key.
        let mut next: Scan<String> = Scan::after(code);
        while let Some((key, division)) = self.db.scan(&DIVISIONS, next.limit(1)).await?.pop() {
            if !key.starts_with(code) {
                break;
            }
            if key.len() < child_len {
                // Not a code of the levels below: step over it.
                next = Scan::after(key.as_str());
                continue;
            }
            if key.len() == child_len && division.parent.as_deref() == Some(code) {
                out.push(division);
            }
            // Next: the first key past this child's subtree.
            next = Scan::from(successor(&key[..child_len]).as_str());
        }
        Ok(out)
    }

    /// Whether `code` names a province of China (two digits); see
    /// [`is_province`].
    pub fn is_province(&self, code: &str) -> bool {
        is_province(code)
    }
}

/// Whether `code` names a province of China (two digits). Answered from the
/// shipped data, the same the `divisions` table is loaded from, so it needs
/// no store (identity-number checks call it for every number, in closures
/// that cannot wait).
pub fn is_province(code: &str) -> bool {
    code.len() == 2 && PROVINCE_CODES.contains(code)
}

/// The smallest code greater than every code that begins with `prefix`:
/// the prefix with its last digit plus one (codes are ASCII digits, so the
/// result is ASCII too, `9` becoming `:`).
fn successor(prefix: &str) -> String {
    let mut next = prefix.to_string();
    if let Some(last) = next.pop() {
        next.push(char::from(u32::from(last).saturating_add(1) as u8));
    }
    next
}

/// Every division of the shipped data.
fn shipped() -> Vec<Division> {
    let mut out = Vec::new();
    for row in rows(CHINA_PROVINCES) {
        out.push(division(&row[0], &row[1], None, row[0] == "33"));
    }
    for row in rows(PROVINCES) {
        out.push(division(&row[0], &row[1], None, true));
    }
    // cities: code,name,provinceCode; counties: code,name,cityCode,...;
    // townships: code,name,areaCode,...; villages: code,name,streetCode,...
    for data in [CITIES, COUNTIES, TOWNSHIPS, VILLAGES] {
        for row in rows(data) {
            out.push(division(&row[0], &row[1], Some(&row[2]), true));
        }
    }
    out
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
    use crate::testing::temp_db;

    async fn loaded() -> (tempfile::TempDir, Db, Directory) {
        let (dir, db) = temp_db();
        let directory = Directory::new(db.clone());
        directory.load_shipped().await.unwrap();
        (dir, db, directory)
    }

    #[tokio::test]
    async fn loads_all_five_levels_with_parents() {
        let (_dir, db, directory) = loaded().await;
        let names: Vec<String> = directory
            .path("330102001051")
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(
            names,
            ["浙江省", "杭州市", "上城区", "清波街道", "清波门社区"]
        );
        assert_eq!(
            directory.get("3301").await.unwrap().unwrap().level,
            Level::City
        );
        assert!(directory.is_province("11"));
        assert!(directory.is_province("33"));
        assert!(!directory.is_province("99"));
        assert!(!directory.is_province("3301"));
        // 1 + 11 + 90 + 1,387 + 25,547 in Zhejiang, plus 30 other provinces.
        let stored = db.scan(&DIVISIONS, Scan::all()).await.unwrap();
        assert_eq!(stored.len(), 27_036 + 30);
        // Every province the table holds is one `is_province` knows.
        let provinces: Vec<_> = stored.iter().filter(|(code, _)| code.len() == 2).collect();
        assert_eq!(provinces.len(), PROVINCE_CODES.len());
        assert!(
            provinces
                .iter()
                .all(|(code, _)| directory.is_province(code))
        );
    }

    #[tokio::test]
    async fn the_data_is_loaded_once_per_edition() {
        let (_dir, db, directory) = loaded().await;
        // A changed record survives a second load: the marker says the
        // edition is in the store.
        let mut hangzhou = directory.get("3301").await.unwrap().unwrap();
        hangzhou.name = "changed".into();
        db.put(&DIVISIONS, "3301", &hangzhou).await.unwrap();
        Directory::new(db.clone()).load_shipped().await.unwrap();
        assert_eq!(
            directory.get("3301").await.unwrap().unwrap().name,
            "changed"
        );
        // An older edition's marker makes the next start load again.
        db.put(&META, META_KEY, &"2020-01-01".into()).await.unwrap();
        Directory::new(db.clone()).load_shipped().await.unwrap();
        assert_eq!(directory.get("3301").await.unwrap().unwrap().name, "杭州市");
    }

    #[tokio::test]
    async fn children_are_the_next_level_only() {
        let (_dir, _db, directory) = loaded().await;
        let names = async |code: &str| -> Vec<String> {
            directory
                .children(code)
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.name)
                .collect()
        };
        let cities = directory.children(ZHEJIANG).await.unwrap();
        assert_eq!(cities.len(), 11);
        assert_eq!(
            (cities[0].code.as_str(), cities[0].level),
            ("3301", Level::City)
        );
        assert_eq!(cities[10].name, "丽水市");
        let hangzhou = names("3301").await;
        assert_eq!(hangzhou.len(), 13);
        assert!(hangzhou.contains(&"桐庐县".to_string()), "{hangzhou:?}");
        let tonglu = directory.children("330122").await.unwrap();
        assert_eq!(tonglu.len(), 14);
        assert!(
            tonglu
                .iter()
                .all(|d| d.level == Level::Township && d.parent.as_deref() == Some("330122"))
        );
        assert!(names("330122").await.contains(&"分水镇".to_string()));
        assert_eq!(names("330102001").await.len(), 5);
        // A village, a province outside Zhejiang, unknown and malformed codes.
        for none in ["330102001051", "11", "3399", "x", ""] {
            assert!(names(none).await.is_empty(), "{none}");
        }
    }
}

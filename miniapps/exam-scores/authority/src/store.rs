//! The authority's data: the year's exam (its release time), the batch
//! lines and the candidates' records, in one JSON file,
//! `{data dir}/authority.json`, created from the bundled seed on first
//! start and checked on every start. Times are UTC ms.

use std::path::Path;

use cityhost_backend::data_file::DataFile;
use serde::{Deserialize, Serialize};

/// The seed: the 2026 exam, its batch lines and the demo candidates.
const SEED: &str = include_str!("../seed/authority.json");

/// The data file's name in the data directory.
pub const DATA_FILE: &str = "authority.json";

/// The compulsory subjects of Zhejiang's 3+3 system, 150 points each.
pub const COMPULSORY: [&str; 3] = ["语文", "数学", "外语"];

/// The elective (选考) subjects a candidate picks three of, each scored
/// as an assigned score (赋分) of 40 to 100 in steps of 3.
pub const ELECTIVES: [&str; 7] = ["物理", "化学", "生物", "思想政治", "历史", "地理", "技术"];

/// The year's exam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exam {
    /// The exam's year, 2026.
    pub year: u16,
    /// 2026年浙江省普通高校招生考试.
    pub name: String,
    /// When the scores are released, UTC ms; before it no one's scores
    /// are answered.
    pub release_at: u64,
}

/// A batch line (分数线), published with the scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchLine {
    /// `special` (特殊类型招生控制线), `first` (普通类一段线) or `second`
    /// (普通类二段线).
    pub line: String,
    /// Its name.
    pub name: String,
    /// The total score it is drawn at (a total at or above it reaches it).
    pub score: u32,
}

/// One subject's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectScore {
    /// 语文, 数学, 外语 or one of [`ELECTIVES`].
    pub subject: String,
    /// The score (for an elective, the assigned score).
    pub score: u32,
    /// Full marks: 150 or 100.
    pub full: u32,
}

/// A candidate's record (考生成绩).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The exam number (考生号), see [`crate::is_exam_number`].
    pub exam_number: String,
    /// The resident identity number the candidate registered with.
    pub id_number: String,
    /// The candidate's name.
    pub name: String,
    /// The three compulsory subjects, then the three electives.
    pub subjects: Vec<SubjectScore>,
}

impl Candidate {
    /// The total of the subjects (full marks 750).
    pub fn total(&self) -> u32 {
        self.subjects.iter().map(|s| s.score).sum()
    }
}

/// The whole data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Data {
    /// The year's exam.
    pub exam: Exam,
    /// The batch lines, highest first.
    pub lines: Vec<BatchLine>,
    /// Every candidate's record.
    pub candidates: Vec<Candidate>,
}

impl Data {
    /// What makes the data unusable, if anything: a malformed exam number
    /// or identity number, a repeated exam number, subjects other than the
    /// three compulsory ones and three distinct electives, a score over
    /// full marks or an elective score that is not an assigned score.
    pub fn problem(&self) -> Option<String> {
        let mut seen = std::collections::HashSet::new();
        for c in &self.candidates {
            let who = &c.exam_number;
            if !crate::is_exam_number(who) {
                return Some(format!("malformed exam number {who}"));
            }
            if !seen.insert(who.as_str()) {
                return Some(format!("exam number {who} twice"));
            }
            if !crate::is_id_number(&c.id_number) {
                return Some(format!("{who}: malformed identity number"));
            }
            if c.subjects.len() != 6 {
                return Some(format!("{who}: six subjects expected"));
            }
            for (i, s) in c.subjects.iter().enumerate() {
                let ok = if i < 3 {
                    s.subject == COMPULSORY[i] && s.full == 150 && s.score <= 150
                } else {
                    ELECTIVES.contains(&s.subject.as_str())
                        && s.full == 100
                        && (40..=100).contains(&s.score)
                        && (s.score - 40) % 3 == 0
                        && !c.subjects[3..i].iter().any(|o| o.subject == s.subject)
                };
                if !ok {
                    return Some(format!("{who}: subject {i} ({})", s.subject));
                }
            }
        }
        if self.lines.windows(2).any(|w| w[0].score < w[1].score) {
            return Some("batch lines not highest first".into());
        }
        None
    }
}

/// The authority's data, in memory and in its file.
pub struct Store {
    file: DataFile<Data>,
}

impl Store {
    /// Opens `{dir}/authority.json`, seeding it on first start. Errors: the
    /// file cannot be read or written, or holds unusable data.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        let file = DataFile::<Data>::open(dir.join(DATA_FILE), SEED)?;
        if let Some(problem) = file.lock().problem() {
            anyhow::bail!("{}: {problem}", dir.join(DATA_FILE).display());
        }
        Ok(Store { file })
    }

    /// The year's exam.
    pub fn exam(&self) -> Exam {
        self.file.lock().exam.clone()
    }

    /// The batch lines.
    pub fn lines(&self) -> Vec<BatchLine> {
        self.file.lock().lines.clone()
    }

    /// The record of exam number `exam_number` if it was registered with
    /// `id_number`; `None` for an unknown number and for another person's
    /// alike.
    pub fn candidate(&self, exam_number: &str, id_number: &str) -> Option<Candidate> {
        let data = self.file.lock();
        let found = data
            .candidates
            .iter()
            .find(|c| c.exam_number == exam_number)?;
        (found.id_number == id_number).then(|| found.clone())
    }

    /// Sets when the scores are released. Errors: the file could not be
    /// written (the release time is then unchanged).
    pub fn set_release(&self, release_at: u64) -> std::io::Result<Exam> {
        let mut data = self.file.lock();
        let mut next = data.clone();
        next.exam.release_at = release_at;
        self.file.commit(&mut data, next)?;
        Ok(data.exam.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Data {
        serde_json::from_str(SEED).unwrap()
    }

    #[test]
    fn the_seed_is_usable_data() {
        let data = seed();
        assert_eq!(data.problem(), None);
        let zhang = &data.candidates[0];
        assert_eq!((zhang.name.as_str(), zhang.total()), ("张三", 639));
    }

    #[test]
    fn malformed_records_are_found() {
        let mut data = seed();
        data.candidates[0].subjects[4].score = 89;
        assert!(data.problem().unwrap().contains("subject 4"));
        let mut data = seed();
        data.candidates[0].subjects[5].subject = "物理".into();
        assert!(data.problem().unwrap().contains("subject 5"));
        let mut data = seed();
        data.candidates[1].exam_number = data.candidates[0].exam_number.clone();
        assert!(data.problem().unwrap().contains("twice"));
        let mut data = seed();
        data.candidates[0].subjects[0].score = 151;
        assert!(data.problem().is_some());
    }

    #[test]
    fn a_record_is_found_only_with_its_own_identity_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(
            store
                .candidate("26330106000118", "33010619900101123X")
                .is_some()
        );
        assert_eq!(
            store.candidate("26330106000118", "330106199203041023"),
            None
        );
        assert_eq!(
            store.candidate("26330106999999", "33010619900101123X"),
            None
        );
        let exam = store.set_release(1).unwrap();
        assert_eq!(exam.release_at, 1);
        drop(store);
        assert_eq!(Store::open(dir.path()).unwrap().exam().release_at, 1);
    }
}

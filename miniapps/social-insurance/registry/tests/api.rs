//! The records service as its callers see it: the binary started on a
//! free port with a temporary data directory, spoken to over real HTTP.

use cityhost_backend::testing::{Running, assert_stops_when_stdin_closes};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_zj-social-insurance");
const ZHANG: &str = "33010619900101123X";
const LI: &str = "330102198506152345";
const WANG: &str = "330106199203041023";
/// In the demo population registry, insured nowhere in Zhejiang.
const MAIMAITI: &str = "440304199511200034";

async fn get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_summary_tells_each_insurance_the_years_and_the_accounts() {
    let data = tempfile::tempdir().unwrap();
    let si = Running::start(BIN, data.path());
    let (status, zhang) = get(&si.base, &format!("/persons/{ZHANG}/summary")).await;
    assert_eq!(status, 200, "{zhang}");
    assert_eq!(zhang["name"], "张三");
    assert_eq!(zhang["status"], "paying");
    assert_eq!(zhang["first_month"], "2012-07");
    assert_eq!(zhang["current_unit"]["name"], "杭州西湖数智科技有限公司");
    let kinds: Vec<&str> = zhang["insurances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["insurance"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "pension",
            "medical",
            "unemployment",
            "work_injury",
            "maternity"
        ]
    );
    assert!(
        zhang["insurances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "paying")
    );
    // 2012-07 to the last month levied, less the three months of the gap.
    assert_eq!(zhang["gaps"][0]["from"], "2018-03");
    assert_eq!(zhang["gaps"][0]["months"], 3);
    assert_eq!(zhang["benefits"][0]["monthly_fen"], 151_200);
    let paid = zhang["paid_months"].as_u64().unwrap();
    assert!(paid > 160, "{paid}");
    assert!(zhang["accounts"]["pension_personal_fen"].as_u64().unwrap() > 1_000_000);
    assert_eq!(zhang["accounts"]["medical_fen"], 1_265_430);
    // The identity number is not echoed back.
    assert!(!zhang.to_string().contains(ZHANG));

    // 李四: one record, her own, two units.
    let (_, li) = get(&si.base, &format!("/persons/{LI}/summary")).await;
    assert_eq!(li["name"], "李四");
    assert_eq!(li["first_month"], "2008-09");
    assert_eq!(li["gaps"], serde_json::json!([]));

    // A lower-case x is the same number.
    let lower = ZHANG.to_lowercase();
    assert_eq!(
        get(&si.base, &format!("/persons/{lower}/summary")).await.1,
        zhang
    );

    let (_, rates) = get(&si.base, "/rates").await;
    assert_eq!(rates["rates"]["pension"][1]["employer_bp"], 1600);
}

#[tokio::test]
async fn contributions_page_newest_first_with_unit_base_and_both_parts() {
    let data = tempfile::tempdir().unwrap();
    let si = Running::start(BIN, data.path());
    let path = format!("/persons/{WANG}/contributions?from=2020-01&to=2021-12&per_page=5");
    let (status, p1) = get(&si.base, &path).await;
    assert_eq!(status, 200, "{p1}");
    // 王五 drew unemployment benefit from 2020-07 to 2021-03.
    assert_eq!(
        (p1["total"].as_u64(), p1["pages"].as_u64()),
        (Some(15), Some(3))
    );
    let first = &p1["months"][0];
    assert_eq!(first["month"], "2021-12");
    assert_eq!(first["unit"]["name"], "杭州余杭未来智造有限公司");
    assert_eq!(first["base_fen"], 720_000);
    // Pension: 14 % (16 % from 2022) and 8 % of ¥7,200.00.
    let pension = &first["parts"][0];
    assert_eq!(pension["insurance"], "pension");
    assert_eq!(
        (
            pension["employer_fen"].as_u64(),
            pension["personal_fen"].as_u64()
        ),
        (Some(100_800), Some(57_600))
    );
    let sum = |key: &str| -> u64 {
        first["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(first["employer_fen"].as_u64(), Some(sum("employer_fen")));
    assert_eq!(first["personal_fen"].as_u64(), Some(sum("personal_fen")));

    let (_, p3) = get(&si.base, &format!("{path}&page=3")).await;
    let months: Vec<&str> = p3["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(
        months,
        ["2020-05", "2020-04", "2020-03", "2020-02", "2020-01"]
    );
    assert_eq!(p3["months"][0]["unit"]["name"], "杭州拱墅运河物流有限公司");
    assert_eq!(
        p3["employer_fen"], p1["employer_fen"],
        "totals cover the range"
    );

    // Default range: everything, 12 a page.
    let (_, all) = get(&si.base, &format!("/persons/{ZHANG}/contributions")).await;
    assert_eq!(all["from"], "2012-07");
    assert_eq!(all["per_page"], 12);
    assert_eq!(all["months"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn unknown_people_are_404_and_bad_input_names_its_field() {
    let data = tempfile::tempdir().unwrap();
    let si = Running::start(BIN, data.path());
    for path in [
        format!("/persons/{MAIMAITI}/summary"),
        format!("/persons/{MAIMAITI}/contributions"),
    ] {
        let (status, e) = get(&si.base, &path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            (e["code"].as_str(), e["field"].as_str()),
            (Some("no_record"), Some("id_number"))
        );
    }
    let contributions = format!("/persons/{ZHANG}/contributions");
    for (path, field) in [
        (
            "/persons/330106199001011231/summary".to_string(),
            "id_number",
        ),
        ("/persons/12345/contributions".to_string(), "id_number"),
        (
            "/persons/%E5%BC%A0%E4%B8%89/summary".to_string(),
            "id_number",
        ),
        (format!("{contributions}?from=2020-13"), "from"),
        (format!("{contributions}?to=2020-1"), "to"),
        (format!("{contributions}?from=2021-01&to=2020-01"), "from"),
        (format!("{contributions}?page=0"), "page"),
        (format!("{contributions}?per_page=1000"), "per_page"),
        (format!("{contributions}?id_number={LI}"), "id_number"),
    ] {
        let (status, e) = get(&si.base, &path).await;
        assert_eq!(
            (status, e["field"].as_str()),
            (400, Some(field)),
            "{path}: {e}"
        );
        assert_eq!(e["code"], "invalid");
    }
    let (status, e) = get(&si.base, "/persons").await;
    assert_eq!((status, e["code"].as_str()), (404, Some("not_found")));
    let r = reqwest::Client::new()
        .post(format!("{}/persons/{ZHANG}/summary", si.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn the_data_is_seeded_once_and_a_broken_file_stops_the_start() {
    let data = tempfile::tempdir().unwrap();
    drop(Running::start(BIN, data.path()));
    let file = data.path().join("insurance.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("91330106MA27WQ3K5U"));
    // The file is the data: what it says is answered.
    std::fs::write(&file, text.replace("\"张三\"", "\"张叁\"")).unwrap();
    let si = Running::start(BIN, data.path());
    assert_eq!(
        get(&si.base, &format!("/persons/{ZHANG}/summary")).await.1["name"],
        "张叁"
    );
    drop(si);
    std::fs::write(&file, r#"{"rates": {}, "units": {}, "persons": {}}"#).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no rates"),
        "{out:?}"
    );
}

#[test]
fn it_stops_when_its_standard_input_closes() {
    let data = tempfile::tempdir().unwrap();
    assert_stops_when_stdin_closes(BIN, data.path());
}

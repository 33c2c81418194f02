//! The division picker's API (`/api/divisions`) over the real Zhejiang
//! divisions, and the service list filtered to a place and the levels of
//! government above it (`/api/apps?division=`).

use serde_json::{Value, json};

use crate::support::{Citizen, TestHost};

/// `(code, name, level)` of each division listed.
fn listed(divisions: &Value) -> Vec<(String, String, String)> {
    divisions
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["name"].as_str().unwrap().to_string(),
                d["level"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Ids of the services listed.
async fn service_ids(c: &Citizen, path: &str) -> Vec<String> {
    c.get_json(path, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts an error status and that the JSON error body names `field`.
async fn error_naming(c: &Citizen, path: &str, status: u16, field: &str) -> Value {
    let body = c.get_json(path, status).await;
    assert_eq!(body["error"]["field"], field, "GET {path}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn the_picker_walks_from_the_province_to_a_township() {
    let host = TestHost::start().await;
    // Public data: no session needed.
    let c = host.client();

    let root = c.get_json("/api/divisions", 200).await;
    assert_eq!(
        root,
        json!([{"code": "33", "name": "浙江省", "level": "province"}])
    );

    let cities = listed(&c.get_json("/api/divisions?parent=33", 200).await);
    assert_eq!(cities.len(), 11, "{cities:?}");
    assert_eq!(cities[0], ("3301".into(), "杭州市".into(), "city".into()));
    assert_eq!(cities[1], ("3302".into(), "宁波市".into(), "city".into()));

    let counties = listed(&c.get_json("/api/divisions?parent=3301", 200).await);
    assert!(
        counties
            .iter()
            .all(|d| d.2 == "county" && d.0.starts_with("3301"))
    );
    assert!(counties.contains(&("330122".into(), "桐庐县".into(), "county".into())));

    let townships = listed(&c.get_json("/api/divisions?parent=330122", 200).await);
    assert_eq!(townships.len(), 14, "{townships:?}");
    assert!(townships.iter().all(|d| d.2 == "township"));
    assert!(townships.contains(&("330122109".into(), "分水镇".into(), "township".into())));

    // Below a township come its villages; below a village, nothing; nor
    // below a province whose lower levels are not shipped.
    let villages = listed(&c.get_json("/api/divisions?parent=330102001", 200).await);
    assert_eq!(villages[0].1, "清波门社区");
    assert!(villages.iter().all(|d| d.2 == "village"));
    for empty in ["330102001051", "11"] {
        let path = format!("/api/divisions?parent={empty}");
        assert_eq!(c.get_json(&path, 200).await, json!([]), "{path}");
    }

    let tonglu = c.get_json("/api/divisions/330122", 200).await;
    assert_eq!(tonglu["name"], "桐庐县");
    assert_eq!(tonglu["level"], "county");
    assert_eq!(tonglu["parent"], "3301");
    let path: Vec<&str> = tonglu["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["浙江省", "杭州市", "桐庐县"]);
    assert_eq!(tonglu["path"][1]["code"], "3301");
    let province = c.get_json("/api/divisions/33", 200).await;
    assert_eq!(province["parent"], Value::Null);
    assert_eq!(province["path"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_division_codes_are_refused_naming_the_field() {
    let host = TestHost::start().await;
    let c = host.client();
    // Malformed: not 2, 4, 6, 9 or 12 digits.
    for bad in ["", "abc", "3", "33010", "３３", "3301%2022", "33;01"] {
        let body = error_naming(&c, &format!("/api/divisions?parent={bad}"), 400, "parent").await;
        assert_eq!(body["error"]["code"], "invalid_argument");
        error_naming(&c, &format!("/api/apps?division={bad}"), 400, "division").await;
    }
    error_naming(&c, "/api/divisions?parent=33&parent=3301", 400, "parent").await;
    for bad in ["12345", "33x1", "%E6%9D%AD%E5%B7%9E"] {
        error_naming(&c, &format!("/api/divisions/{bad}"), 400, "code").await;
    }
    // Well-formed but unknown.
    for unknown in ["3399", "330199", "999999999999"] {
        let body = error_naming(
            &c,
            &format!("/api/divisions?parent={unknown}"),
            404,
            "parent",
        )
        .await;
        assert_eq!(body["error"]["code"], "not_found");
        error_naming(&c, &format!("/api/divisions/{unknown}"), 404, "code").await;
        error_naming(
            &c,
            &format!("/api/apps?division={unknown}"),
            404,
            "division",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_place_sees_its_own_services_and_those_above_it() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;

    // Every service carries its level of government.
    let apps = c.get_json("/api/apps", 200).await;
    let level = |id: &str| {
        apps.as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed"))["department"]["level"]
            .clone()
    };
    assert_eq!(level("hello-http"), "province");
    assert_eq!(level("utility-bills"), "city");
    assert_eq!(level("tuition"), "county");

    // Tonglu county (and a township in it): Tonglu's school, Hangzhou's
    // water company, the province's bureau.
    for place in ["330122", "330122109"] {
        let ids = service_ids(&c, &format!("/api/apps?division={place}")).await;
        for id in ["tuition", "utility-bills", "housing-fund", "hello-http"] {
            assert!(
                ids.contains(&id.to_string()),
                "{place}: {id} missing from {ids:?}"
            );
        }
    }
    // Another Hangzhou district: the city's services, not Tonglu's.
    let shangcheng = service_ids(&c, "/api/apps?division=330102").await;
    assert!(shangcheng.contains(&"utility-bills".to_string()));
    assert!(
        !shangcheng.contains(&"tuition".to_string()),
        "{shangcheng:?}"
    );
    // Hangzhou as a whole: its own city-level services; a county's stay
    // with that county.
    let hangzhou = service_ids(&c, "/api/apps?division=3301").await;
    assert!(hangzhou.contains(&"move-my-car".to_string()));
    assert!(!hangzhou.contains(&"tuition".to_string()));
    // Ningbo: only province-wide services.
    let ningbo = c.get_json("/api/apps?division=3302", 200).await;
    let ningbo = ningbo.as_array().unwrap();
    assert!(ningbo.iter().any(|a| a["id"] == "hello-http"), "{ningbo:?}");
    assert!(
        ningbo
            .iter()
            .all(|a| a["department"]["level"] == "province"),
        "{ningbo:?}"
    );
    // The province: province-level services only.
    let province = c.get_json("/api/apps?division=33", 200).await;
    assert!(
        province
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["department"]["division_code"] == "33")
    );
}

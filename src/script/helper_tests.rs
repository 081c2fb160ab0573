//! The native helpers (aggregation, CSV, tables, phones, fingerprints, times, `env`) as
//! scripts call them.

use rhai::Engine;

fn engine() -> Engine {
    let mut engine = Engine::new();
    for module in [
        rhai::exported_module!(super::aggregate::aggregate_api),
        rhai::exported_module!(super::csv::csv_api),
        rhai::exported_module!(super::table::table_api),
        rhai::exported_module!(super::phone::phone_api),
        rhai::exported_module!(super::json::json_api),
        rhai::exported_module!(super::time::time_api),
        rhai::exported_module!(super::env::env_api),
    ] {
        engine.register_global_module(module.into());
    }
    engine
}

fn eval<T: Clone + Send + Sync + 'static>(code: &str) -> T {
    engine()
        .eval::<T>(code)
        .unwrap_or_else(|e| panic!("{code}: {e}"))
}

const ROWS: &str =
    r#"let rows = [#{s: "a", d: 10}, #{s: "b", d: 0}, #{s: "a", d: 30}, #{s: "c", d: ()}];"#;

#[test]
fn keys_of_every_kind_are_counted_across_parts_and_joined_by_name() {
    // 60,000 records fold in parallel parts whose tallies are merged.
    let code = r#"
        let kinds = [(), 1, "1", 1.5, true, "x"];
        let rows = [];
        for i in 0..60000 { rows.push(#{ k: kinds[i % 6] }); }
        let counts = count_by(rows, "k");
        let groups = group_by(rows, "k");
        [counts.keys().len(), counts[""], counts["1"], counts["1.5"], counts["true"],
         counts["x"], groups["x"].len(), groups["1.5"].len()]
    "#;
    let got: Vec<i64> = eval::<rhai::Array>(code)
        .into_iter()
        .map(|v| v.as_int().unwrap())
        .collect();
    // 1 and "1" share a name in the result map, so they are counted together.
    assert_eq!(
        got,
        vec![5, 10_000, 20_000, 10_000, 10_000, 10_000, 10_000, 10_000]
    );
}

#[test]
fn aggregations() {
    assert_eq!(eval::<i64>(&format!("{ROWS} count_by(rows, \"s\").a")), 2);
    assert_eq!(
        eval::<i64>(&format!("{ROWS} count_by(rows, |r| r.d > 5)[\"true\"]")),
        2
    );
    assert_eq!(
        eval::<i64>(&format!("{ROWS} group_by(rows, \"s\").a.len()")),
        2
    );
    assert_eq!(eval::<i64>(&format!("{ROWS} sum_by(rows, \"d\")")), 40);
    assert_eq!(
        eval::<f64>(&format!("{ROWS} avg_by(rows, \"d\")")),
        40.0 / 3.0
    );
    assert_eq!(eval::<i64>(&format!("{ROWS} max_by(rows, \"d\").d")), 30);
    assert_eq!(eval::<i64>(&format!("{ROWS} min_by(rows, \"d\").d")), 0);
    assert_eq!(
        eval::<i64>(&format!("{ROWS} unique_by(rows, \"s\").len()")),
        3
    );
    assert_eq!(
        eval::<String>(&format!("{ROWS} index_by(rows, \"s\").a.s")),
        "a"
    );
    assert_eq!(
        eval::<String>(&format!(
            "{ROWS} sort_by(rows, \"d\", \"desc\"); rows.map(|r| r.d).to_string()"
        )),
        "[30, 10, 0, ()]"
    );
    assert_eq!(eval::<f64>("percentile([1, 2, 3, 4], 50)"), 2.5);
    assert_eq!(
        eval::<f64>(&format!("{ROWS} percentile(rows, \"d\", 100)")),
        30.0
    );
    assert!(engine()
        .eval::<rhai::Dynamic>("percentile([1], 101)")
        .is_err());
    assert!(engine()
        .eval::<rhai::Dynamic>("count_by([#{}], 5)")
        .is_err());
}

#[test]
fn large_arrays_are_folded_in_parts_with_the_same_result() {
    let code = "let rows = []; for i in 0..60000 { rows.push(#{k: i % 3, d: 1, i: i}); }
                let g = group_by(rows, \"k\");
                [count_by(rows, \"k\")[\"0\"], sum_by(rows, \"d\"), avg_by(rows, \"d\"), g[\"2\"].len(), g[\"1\"][0].i, g[\"1\"][19999].i]";
    let out = eval::<rhai::Array>(code);
    let shown: Vec<String> = out.iter().map(|v| v.to_string()).collect();
    assert_eq!(
        shown,
        ["20000", "60000", "1.0", "20000", "1", "59998"],
        "input order kept within a group"
    );
}

#[test]
fn tables_phones_and_times() {
    let table = eval::<String>(r#"table([#{id: 1, name: "x"}, #{id: 22, name: "long"}])"#);
    assert_eq!(table, "id  name\n──  ────\n 1  x\n22  long");
    // One number however it is written; the trunk 0 beside the country code goes.
    for written in [
        r#"normalize_phone("+44 (0)7700 900101")"#,
        r#"normalize_phone("07700 900101", "GB")"#,
        r#"normalize_phone("0044 7700 900101")"#,
    ] {
        assert_eq!(eval::<String>(written), "447700900101", "{written}");
    }
    assert!(eval::<rhai::Dynamic>(r#"normalize_phone("12")"#).is_unit());
    assert!(eval::<rhai::Dynamic>(r#"normalize_phone("+44 (0) 7700")"#).is_unit());
    assert_eq!(eval::<i64>(r#"hour_of("2025-01-01 08:30:00")"#), 8);
    assert_eq!(
        eval::<String>(r#"format_time(parse_time("2025-01-01"))"#),
        "2025-01-01 00:00:00"
    );
    assert!(engine()
        .eval::<rhai::Dynamic>(r#"env("TDC_PASSWORD")"#)
        .is_err());
}

#[test]
fn csv_round_trip() {
    let dir = std::env::temp_dir().join(format!("tdc-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.csv").display().to_string();
    let code = format!(
        r#"write_csv([#{{id: 1, phone: "44 1"}}, #{{id: 2, note: "a,b"}}], "{path}"); read_csv("{path}")"#
    );
    // Files are the host's to allow: an engine without one may touch none.
    let refused = engine().eval::<rhai::Array>(&code).unwrap_err();
    assert!(refused.to_string().contains("is not allowed"), "{refused}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let host = super::Host::new(runtime.handle().clone(), None, false, false);
    host.powers().install(super::permissions::Permissions {
        read: vec![dir.clone()],
        write: vec![dir.clone()],
        ..Default::default()
    });
    let mut engine = engine();
    engine.set_default_tag(rhai::Dynamic::from(super::dialer::HostTag(host)));
    let rows = engine
        .eval::<rhai::Array>(&code)
        .unwrap_or_else(|e| panic!("{code}: {e}"));
    assert_eq!(rows.len(), 2);
    let second = rows[1].clone().cast::<rhai::Map>();
    assert_eq!(second["note"].to_string(), "a,b");
    assert_eq!(second["phone"].to_string(), "");
    let broken = dir.join("broken.csv");
    std::fs::write(&broken, "a,b\n1,2\n3\n").unwrap();
    let err = engine
        .eval::<rhai::Array>(&format!(r#"read_csv("{}")"#, broken.display()))
        .unwrap_err();
    assert!(err.to_string().contains("row 3"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Day words and national numbers are read in the zone and region of the host a script runs
/// on, not in process-wide settings: two hosts at once each keep their own, and an engine
/// without a host reads UTC and needs country codes.
#[test]
fn times_and_phones_are_read_in_the_hosts_locale() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let on_host = |zone: &str, region: Option<&str>| {
        let host = super::Host::new(runtime.handle().clone(), None, false, false);
        host.set_locale(super::Locale {
            zone: Some(crate::time::timezone(zone).unwrap()),
            region: region.map(|r| crate::phone::region(r).unwrap()),
        });
        let mut engine = engine();
        engine.set_default_tag(rhai::Dynamic::from(super::dialer::HostTag(host)));
        engine
    };
    let london = on_host("Europe/London", Some("GB"));
    let tokyo = on_host("Asia/Tokyo", None);
    let phone = r#"normalize_phone("07700 900101")"#;
    assert_eq!(london.eval::<String>(phone).unwrap(), "447700900101");
    assert!(tokyo.eval::<rhai::Dynamic>(phone).unwrap().is_unit());
    assert!(engine().eval::<rhai::Dynamic>(phone).unwrap().is_unit());
    assert_eq!(london.eval::<String>("default_region()").unwrap(), "GB");
    assert!(tokyo
        .eval::<rhai::Dynamic>("default_region()")
        .unwrap()
        .is_unit());
    let midnight = |engine: &Engine| engine.eval::<i64>(r#"parse_time("today")"#).unwrap();
    let expected = |zone: Option<&str>| {
        let zone = zone.map(|z| crate::time::timezone(z).unwrap());
        crate::time::parse_relative("today", chrono::Utc::now().timestamp(), zone).unwrap()
    };
    assert_eq!(midnight(&london), expected(Some("Europe/London")));
    assert_eq!(midnight(&tokyo), expected(Some("Asia/Tokyo")));
    assert_eq!(midnight(&engine()), expected(None));
    assert_ne!(midnight(&london), midnight(&tokyo));
}

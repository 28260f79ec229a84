use cityloop_eval::{
    DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML, EvaluationScheme, SchemeKind, SchemeProblem,
};

#[test]
fn shipped_defaults_fail_on_region_weights_and_unmeasurable_acceptor_indicators() {
    let scheme = EvaluationScheme::from_toml(DEFAULT_SCHEME_TOML).unwrap();
    let problems = scheme.validate();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(matches!(
        &problems[0],
        SchemeProblem::NotDerivable { kind: SchemeKind::Acceptor, indicator, .. }
            if indicator == "check_dispatch_on_time"
    ));
    assert!(matches!(
        &problems[1],
        SchemeProblem::NotDerivable { kind: SchemeKind::Acceptor, indicator, .. }
            if indicator == "verify_dispatch_on_time"
    ));
    match &problems[2] {
        SchemeProblem::WeightSum {
            kind: SchemeKind::Region,
            sum,
        } => assert!((sum - 0.70).abs() < 1e-9, "{sum}"),
        other => panic!("{other:?}"),
    }
    assert!(problems[2].to_string().contains("0.7000"));
    assert!(scheme.region.as_ref().unwrap().weights_are_local);
    assert!(scheme.clone().validated().is_err());
}

#[test]
fn the_documented_overlay_fixes_the_defaults() {
    let scheme =
        EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML)
            .unwrap();
    assert_eq!(scheme.validate(), vec![]);
    let region = scheme.weights(SchemeKind::Region).unwrap();
    assert_eq!(region.get("on_time_closing_rate"), Some(&0.40));
    // The weights table was replaced, not merged: the unmeasurable keys are gone.
    let acceptor = scheme.weights(SchemeKind::Acceptor).unwrap();
    assert_eq!(
        acceptor.keys().collect::<Vec<_>>(),
        ["accepted_count_band", "on_time_accept_rate"]
    );
    // Everything else is the default.
    assert_eq!(scheme.bands.len(), 4);
    assert_eq!(scheme.grades.len(), 5);
    let valid = scheme.validated().unwrap();
    assert_eq!(valid.grade(90.0), Some("A"));
    assert_eq!(valid.grade(89.999_999), Some("B"));
    assert_eq!(valid.grade(75.0), Some("B"));
    assert_eq!(valid.grade(40.0), Some("D"));
    assert_eq!(valid.grade(0.0), Some("E"));
    assert_eq!(valid.band_score("position_volume", 100.0), Some(0.0));
    assert_eq!(valid.band_score("position_volume", 101.0), Some(40.0));
    assert_eq!(valid.band_score("position_volume", 5000.0), Some(100.0));
    assert_eq!(valid.band_score("department_filed", 50.5), Some(100.0));
    assert_eq!(valid.band_score("region_class2_filed", 3.5), Some(90.0));
    assert_eq!(valid.band_score("region_class1_filed", 0.0), Some(100.0));
    assert_eq!(valid.band_score("region_class1_filed", 0.5), Some(100.0));
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
periods = ["month", "fortnight"]

[[grades]]
grade = "A"
min_score = 90.0
[[grades]]
grade = "A"
min_score = 50.0
[[grades]]
grade = "B"
min_score = 50.0

[position.inspector.weights]
effective_report_rate = 0.5
on_time_verify_rate   = 0.6
typo_rate             = 0.1

[position.acceptor.weights]
accepted_count_band = 1.0

[position.patroller.weights]
x = 1.0

[position.dispatcher.weights]
dispatched_count_band = 1.5
on_time_dispatch_rate = -0.5

[department.weights]
filed_count_band = 1.0

[region.weights]
closing_rate = 1.0

[[bands.position_volume]]
min = 1
max = 10
score = 0
[[bands.position_volume]]
min = 8
max = 20
score = 50
[[bands.position_volume]]
min = 25
max = 30
score = 120

[[bands.other_band]]
min = 0
score = 1
"#;
    let scheme = EvaluationScheme::from_toml(text).unwrap();
    let problems = scheme.validate();
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let expected = [
        "[position.patroller]: unknown object kind",
        "[position.inspector.weights] typo_rate: unknown indicator",
        "[position.inspector.weights]: weights add up to 1.2000, not 1.0",
        "[position.shift_leader.weights]: no weights",
        "[position.dispatcher.weights] dispatched_count_band = 1.5: must be 0 to 1",
        "[position.dispatcher.weights] on_time_dispatch_rate = -0.5: must be 0 to 1",
        "[[bands.department_filed]] is missing (needed by [department.weights])",
        "[[bands.other_band]]: unknown band table",
        "[[bands.position_volume]]: score 120 is not 0 to 100",
        "[[bands.position_volume]]: counts 0..=0 have no band",
        "[[bands.position_volume]]: bands (1, Some(10)) and (8, Some(20)) overlap",
        "[[bands.position_volume]]: counts 21..=24 have no band",
        "[[bands.position_volume]]: counts above 30 have no band (omit the last max)",
        "grade A is defined twice",
        "two grades start at 50",
        "scores below 50 get no grade",
        "unknown period `fortnight`",
    ];
    for e in expected {
        assert!(shown.iter().any(|s| s == e), "missing {e:?} in {shown:#?}");
    }
    assert_eq!(shown.len(), expected.len(), "{shown:#?}");
}

#[test]
fn typos_in_table_names_are_parse_errors() {
    let err = EvaluationScheme::from_toml("[department.weight]\nx = 1.0\n").unwrap_err();
    assert!(err.to_string().contains("weight"), "{err}");
}

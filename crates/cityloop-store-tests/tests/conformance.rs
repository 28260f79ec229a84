//! The conformance suite on SQLite (always) and PostgreSQL (when `CITYLOOP_TEST_PG_URL` is set).

cityloop_store_tests::conformance!(
    meta_round_trip,
    uncommitted_writes_vanish,
    areas_form_a_hierarchy,
    departments_and_sub_units,
    users_roles_and_scope,
    sessions_and_tokens,
    audit_log_is_ordered_and_filterable,
    optimistic_concurrency_has_one_winner,
    taxonomy_rows,
    rule_sets_are_versioned,
    calendar_days,
    grids_and_responsibility,
    components_keep_history,
    addresses_upsert_by_normalised_text,
);

use super::*;

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::from_pairs(pairs.iter().copied())
}

/// [`Config::resolve_text`] with the file `overrides` names read first, as the host does.
fn resolve(overrides: &Overrides, env: &Environment) -> anyhow::Result<Loaded> {
    let text = overrides
        .file
        .as_deref()
        .map(|path| std::fs::read_to_string(path).expect("the test's file"));
    Config::resolve_text(
        overrides,
        env,
        overrides.file.as_deref().zip(text.as_deref()),
    )
}

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("decision-matrix.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

#[test]
fn empty_file_is_the_defaults() {
    let config = Config::parse("").expect("valid");
    assert_eq!(config.plugins, PluginSettings::default());
    assert!(config.grants.is_empty());
}

#[test]
fn misspelt_key_is_an_error_naming_it() {
    let err = Config::parse("[plugins]\ncache_dri = \"x\"").unwrap_err();
    assert!(err.to_string().contains("cache_dri"), "{err}");
}

#[test]
fn grants_and_secrets_parse() {
    let config = Config::parse(
        r#"
        [plugins.limits]
        default_cpu_ms = 500
        [secrets.acme]
        env = "ACME_API_KEY"
        [grants.acme-backend]
        hosts = ["https://api.acme.test"]
        secrets = { acme = ["https://api.acme.test"] }
        "#,
    )
    .expect("valid");
    assert_eq!(config.plugins.limits.default_cpu_ms, 500);
    assert!(config.grants.contains_key("acme-backend"));
    assert!(config.grants_config().validate().is_empty());
}

#[test]
fn documented_example_file_is_valid_and_matches_the_defaults() {
    let text = include_str!("../../../examples/config/decision-matrix.toml");
    let config = Config::parse(text).expect("the example configuration parses");
    config.validate().expect("valid");
    assert_eq!(config.limits, Limits::default());
    assert_eq!(config.sessions.settings(), Ok(SessionSettings::default()));
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.logging, LoggingConfig::default());
    assert_eq!(config.alerts.settings(), Ok(AlertSettings::default()));
    assert!(config.grants_config().validate().is_empty());
    let defaults = PluginSettings::default();
    assert_eq!(config.plugins.limits, defaults.limits);
    assert_eq!(config.plugins.http, defaults.http);
    assert_eq!(config.plugins.max_component_mib, defaults.max_component_mib);
}

#[test]
fn precedence_is_profile_then_file_then_environment_then_flags() {
    let (_dir, path) = file(
        "profile = \"production\"\n[sessions]\nmax_sessions = 300\nttl_seconds = 900\ncleanup_interval_seconds = 120\n",
    );
    let mut overrides = Overrides {
        file: Some(path.clone()),
        ..Overrides::default()
    };
    overrides
        .set("sessions.cleanup_interval_seconds=30")
        .expect("valid flag");
    let loaded = resolve(
        &overrides,
        &env(&[
            ("DMM_MAX_ACTIVE_SESSIONS", "40"),
            ("DMM_DEFAULT_SESSION_TTL_HOURS", "2"),
        ]),
    )
    .expect("valid");
    let sessions = loaded.config.sessions.settings().expect("valid");
    assert_eq!(sessions.max_sessions, 40);
    assert_eq!(sessions.ttl.as_secs(), 7200);
    assert_eq!(sessions.cleanup_interval.as_secs(), 30);
    let evaluation = loaded.config.evaluation.settings().expect("valid");
    assert_eq!(evaluation.breaker.failure_threshold, 5, "from the profile");
    let source = |key: &str| loaded.layered.source_of(key).to_string();
    assert_eq!(source("profile"), format!("file {}", path.display()));
    assert_eq!(
        source("sessions.max_sessions"),
        "env DMM_MAX_ACTIVE_SESSIONS"
    );
    assert_eq!(
        source("sessions.cleanup_interval_seconds"),
        "flag --set sessions.cleanup_interval_seconds"
    );
    assert_eq!(
        source("evaluation.circuit_breaker_threshold"),
        "profile production"
    );
    assert_eq!(source("evaluation.batch_size"), "default");
}

#[test]
fn the_profile_flag_beats_the_variable_which_beats_the_file() {
    let (_dir, path) = file("profile = \"production\"\n");
    let mut overrides = Overrides {
        file: Some(path),
        ..Overrides::default()
    };
    let variable = env(&[("DMM_PROFILE", "high-scale")]);
    let loaded = resolve(&overrides, &variable).expect("valid");
    assert_eq!(loaded.config.profile.as_deref(), Some("high-scale"));
    assert_eq!(
        loaded
            .config
            .sessions
            .settings()
            .expect("valid")
            .max_sessions,
        2000
    );
    overrides.profile = Some("development".into());
    let loaded = resolve(&overrides, &variable).expect("valid");
    assert_eq!(
        loaded
            .config
            .sessions
            .settings()
            .expect("valid")
            .max_sessions,
        10
    );
    assert_eq!(
        loaded.layered.source_of("profile").to_string(),
        "flag --profile"
    );
}

#[test]
fn invalid_values_stop_with_the_key_the_value_what_is_allowed_and_the_source() {
    let error = |pairs: &[(&str, &str)], sets: &[&str]| {
        let mut overrides = Overrides::default();
        for set in sets {
            overrides.set(set).expect("KEY=VALUE");
        }
        resolve(&overrides, &env(pairs))
            .expect_err("invalid")
            .to_string()
    };
    /// Environment, `--set` flags, the message expected.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 6] = [
        (
            &[("DMM_MAX_RETRIES", "11")],
            &[],
            "evaluation.retry_attempts = 11 is out of range; allowed: 1 to 10 (evaluation.retry_attempts from env DMM_MAX_RETRIES)",
        ),
        (
            &[("DMM_DEFAULT_SESSION_TTL_HOURS", "200")],
            &[],
            "sessions.ttl_seconds = 720000 is out of range; allowed: 60 to 604800 seconds (sessions.ttl_seconds from env DMM_DEFAULT_SESSION_TTL_HOURS)",
        ),
        (
            &[("DMM_MAX_OPTIONS_ALLOWED", "2")],
            &[],
            "limits: max_options_allowed (2) must be greater than min_options_required (2) (limits.max_options_allowed from env DMM_MAX_OPTIONS_ALLOWED)",
        ),
        (
            &[],
            &["sessions.max_sessions=lots"],
            "sessions.max_sessions: invalid type: string \"lots\", expected usize (sessions.max_sessions from flag --set sessions.max_sessions)",
        ),
        (
            &[("MCP_HTTP_PORT", "70000")],
            &[],
            "server.port: invalid value: integer `70000`, expected u16 (server.port from env MCP_HTTP_PORT)",
        ),
        (
            &[("DMM_PROFILE", "staging")],
            &[],
            "unknown profile 'staging'; allowed: development, production, high-scale (set by env DMM_PROFILE)",
        ),
    ];
    for (pairs, sets, expected) in cases {
        assert_eq!(error(pairs, sets), expected);
    }
    assert!(error(&[], &["sessions.max_sesions=5"]).contains("max_sesions"));
}

#[test]
fn sessions_default_without_profile_file_or_environment() {
    let loaded = resolve(&Overrides::default(), &env(&[])).expect("valid");
    assert_eq!(
        loaded.config.sessions.settings(),
        Ok(SessionSettings::default())
    );
    assert_eq!(loaded.config.profile, None);
    assert!(loaded.layered.set_keys().next().is_none());
}

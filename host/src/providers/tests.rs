//! What each built-in backend derives from its users' variables, as its manifest declares, and
//! that a third-party backend gets the same.

use std::time::Duration;

use url::Url;

use super::*;
use crate::evaluation::BackendDefaults;
use crate::plugins::grants::SecretSource;

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::from_pairs(pairs.iter().copied())
}

fn builtin_manifest(id: &str) -> Manifest {
    builtin::manifests()
        .into_iter()
        .find(|m| m.id == id)
        .expect("a built-in plugin")
}

/// Backend `id` derived from `env`, the way start-up derives it.
fn derive_one(
    id: &str,
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<DerivedBackend, ProviderError> {
    let backends = derive_builtins(env, profile_region)?;
    Ok(backends.into_iter().find(|b| b.id == id).expect("derived"))
}

fn ollama(env: &Environment) -> Result<DerivedBackend, ProviderError> {
    derive_one("ollama", env, None)
}

fn litellm(env: &Environment) -> Result<DerivedBackend, ProviderError> {
    derive_one("litellm", env, None)
}

fn bedrock(
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<DerivedBackend, ProviderError> {
    derive_one("bedrock", env, profile_region)
}

mod destinations {
    use super::*;

    #[test]
    fn local_destinations_are_recognised() {
        for (url, local) in [
            ("http://127.0.0.1:11434", true),
            ("http://[::1]:11434", true),
            ("http://localhost:11434", true),
            ("http://gpu.localhost", true),
            ("http://192.168.1.20:11434", true),
            ("https://api.openai.com", false),
            ("http://ollama.example.com", false),
        ] {
            assert_eq!(is_local(&Url::parse(url).unwrap()), local, "{url}");
        }
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(litellm(&env(&[("OPENAI_BASE_URL", "http://127.0.0.1:4000/v1")])).is_ok());
        for bad in [
            "127.0.0.1:4000",
            "ftp://x",
            "http://u:p@h/v1",
            "http://h/v1?x=1",
            "nonsense",
        ] {
            let err = litellm(&env(&[("OPENAI_BASE_URL", bad)])).unwrap_err();
            assert!(err.to_string().starts_with("OPENAI_BASE_URL = "), "{err}");
        }
    }

    #[test]
    fn operator_grants_win_but_keep_derived_settings() {
        let builtins = derive_builtins(&env(&[("OLLAMA_HOST", "127.0.0.1:11500")]), None).unwrap();
        let operator = crate::config::Config::parse(
            r#"
            [grants.ollama]
            hosts = ["http://gpu-box.lan:11434"]
            allow_private = true
            config = { base-url = "http://gpu-box.lan:11434" }
            "#,
        )
        .unwrap()
        .grants_config();
        let merged = apply(&operator, &builtins);
        let ollama = &merged.grants["ollama"];
        assert_eq!(ollama.hosts.len(), 1);
        assert_eq!(ollama.hosts[0].to_string(), "http://gpu-box.lan:11434");
        assert_eq!(ollama.config["base-url"], "http://gpu-box.lan:11434");
        assert_eq!(ollama.config["default-model"], "llama3.1:8b");
        assert!(merged.grants.contains_key("litellm") && merged.grants.contains_key("bedrock"));
        assert!(merged.validate().is_empty(), "{:?}", merged.validate());
    }
}

/// `OLLAMA_HOST`, read the way Ollama reads it; `DMM_OLLAMA_MODEL`,
/// `DMM_OLLAMA_TIMEOUT_SECONDS`.
mod ollama {
    use super::*;

    /// `OLLAMA_HOST` as the manifest's destination form reads it.
    fn url(raw: &str) -> String {
        let manifest = builtin_manifest("ollama");
        let destination = manifest
            .backend
            .and_then(|b| b.destination)
            .expect("a destination");
        let raw = if raw.is_empty() {
            destination.default.as_deref().unwrap_or_default()
        } else {
            raw
        };
        destination
            .address
            .parse(raw, destination.default_port.unwrap_or_default())
            .unwrap()
            .to_string()
    }

    #[test]
    fn accepts_every_form_ollama_accepts() {
        for (raw, expected) in [
            ("", "http://localhost:11434/"),
            ("127.0.0.1", "http://127.0.0.1:11434/"),
            ("0.0.0.0", "http://127.0.0.1:11434/"),
            ("0.0.0.0:11500", "http://127.0.0.1:11500/"),
            (":11500", "http://localhost:11500/"),
            ("gpu-box:8080", "http://gpu-box:8080/"),
            ("http://gpu-box", "http://gpu-box/"),
            ("https://ollama.example.com", "https://ollama.example.com/"),
            (
                "https://ollama.example.com:8443/ollama",
                "https://ollama.example.com:8443/ollama",
            ),
            ("[::1]:11434", "http://[::1]:11434/"),
            ("::1", "http://[::1]:11434/"),
            ("[::]", "http://[::1]:11434/"),
        ] {
            assert_eq!(url(raw), expected, "OLLAMA_HOST={raw}");
        }
    }

    #[test]
    fn rejects_what_ollama_cannot_use_naming_the_variable() {
        for raw in ["ftp://h", "h:port", "h:70000", "[::1", "[::1]x"] {
            let err = ollama(&env(&[("OLLAMA_HOST", raw)])).unwrap_err();
            assert!(err.to_string().starts_with("OLLAMA_HOST = "), "{err}");
        }
    }

    #[test]
    fn loopback_gets_allow_private_for_that_host_only() {
        let backend = ollama(&env(&[("OLLAMA_HOST", "127.0.0.1:11500")])).unwrap();
        assert!(backend.grant.allow_private);
        assert_eq!(backend.grant.hosts.len(), 1);
        assert_eq!(backend.grant.hosts[0].to_string(), "http://127.0.0.1:11500");
        assert_eq!(backend.grant.config["base-url"], "http://127.0.0.1:11500");
        let remote = ollama(&env(&[("OLLAMA_HOST", "https://ollama.example.com")])).unwrap();
        assert!(!remote.grant.allow_private);
    }

    #[test]
    fn model_and_timeout_come_from_the_reference_variables() {
        let backend = ollama(&env(&[
            ("DMM_OLLAMA_MODEL", "qwen3:8b"),
            ("DMM_OLLAMA_TIMEOUT_SECONDS", "120"),
        ]))
        .unwrap();
        assert_eq!(backend.grant.config["default-model"], "qwen3:8b");
        assert_eq!(backend.grant.config["timeout-ms"], "120000");
        let err = ollama(&env(&[("DMM_OLLAMA_TIMEOUT_SECONDS", "5")])).unwrap_err();
        assert!(err.to_string().contains("10 to 600"), "{err}");
    }

    #[test]
    fn unset_variables_give_the_reference_defaults() {
        let backend = ollama(&Environment::default()).unwrap();
        let config = &backend.grant.config;
        assert_eq!(config["base-url"], "http://localhost:11434");
        assert_eq!(config["default-model"], "llama3.1:8b");
        assert_eq!(config["timeout-ms"], "60000");
        assert_eq!(config.len(), 3, "{config:?}");
        assert!(backend.sources.is_empty() && backend.secrets.is_empty());
        assert!(backend.grant.allow_private);
    }
}

/// The variables OpenAI's and LiteLLM's own clients read.
mod litellm {
    use super::*;

    const KEY_SECRET: &str = "litellm-api-key";

    #[test]
    fn defaults_to_openai_without_a_key() {
        let backend = litellm(&Environment::default()).unwrap();
        assert_eq!(backend.grant.hosts[0].to_string(), "https://api.openai.com");
        assert!(!backend.grant.allow_private);
        assert!(backend.grant.secrets.is_empty() && backend.secrets.is_empty());
        assert_eq!(
            backend.grant.config["base-url"],
            "https://api.openai.com/v1"
        );
        assert_eq!(backend.grant.config["default-model"], "gpt-4o-mini");
        assert_eq!(backend.grant.config["timeout-ms"], "30000");
        assert!(!backend.grant.config.contains_key("api-key-secret"));
    }

    #[test]
    fn precedence_of_base_and_key_variables() {
        let backend = litellm(&env(&[
            ("OPENAI_API_BASE", "http://old.example/v1"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1/"),
            ("OPENAI_API_KEY", "sk-openai"),
            ("LITELLM_API_KEY", "sk-litellm"),
        ]))
        .unwrap();
        assert_eq!(backend.grant.config["base-url"], "http://127.0.0.1:8000/v1");
        assert!(backend.grant.allow_private);
        assert_eq!(backend.grant.config["api-key-env"], "LITELLM_API_KEY");
        assert_eq!(backend.grant.config["api-key-secret"], KEY_SECRET);
        assert_eq!(
            backend.secrets[KEY_SECRET],
            SecretSource::Env {
                env: "LITELLM_API_KEY".into()
            }
        );
        let bound = &backend.grant.secrets[KEY_SECRET];
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].to_string(), "http://127.0.0.1:8000");
        assert!(
            backend
                .sources
                .contains(&("api-key".into(), "LITELLM_API_KEY".into()))
        );
        let text = format!("{backend:?}");
        assert!(
            !text.contains("sk-litellm") && !text.contains("sk-openai"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_base_url_names_its_variable() {
        let err = litellm(&env(&[("OPENAI_BASE_URL", "localhost:4000")])).unwrap_err();
        assert!(err.to_string().starts_with("OPENAI_BASE_URL = "), "{err}");
    }
}

/// The destination and credentials, resolved as the AWS SDKs resolve them.
mod bedrock {
    use super::*;

    const DEFAULT_MODEL: &str = "anthropic.claude-3-sonnet-20240229-v1:0";
    const API_KEY_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK";
    const API_KEY_SECRET: &str = "bedrock-api-key";

    #[test]
    fn defaults_sign_for_us_east_1() {
        let backend = bedrock(&Environment::default(), None).unwrap();
        let config = &backend.grant.config;
        assert_eq!(config["region"], "us-east-1");
        assert_eq!(
            config["endpoint"],
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
        assert_eq!(config["auth"], "sigv4");
        assert_eq!(config["credentials-secret"], aws::CREDENTIALS_SECRET);
        assert_eq!(config["default-model"], DEFAULT_MODEL);
        assert_eq!(config["timeout-ms"], "30000");
        assert!(!config.contains_key("structured-output"));
        assert_eq!(
            backend.secrets[aws::CREDENTIALS_SECRET],
            SecretSource::Aws { profile: None }
        );
        assert_eq!(
            backend.grant.secrets[aws::CREDENTIALS_SECRET][0].to_string(),
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
        assert!(!backend.grant.allow_private);
    }

    #[test]
    fn region_precedence_env_then_profile() {
        let backend = bedrock(
            &env(&[("AWS_DEFAULT_REGION", "eu-west-1")]),
            Some("ap-south-1"),
        )
        .unwrap();
        assert_eq!(backend.grant.config["region"], "eu-west-1");
        let both = env(&[
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(
            bedrock(&both, None).unwrap().grant.config["region"],
            "us-west-2"
        );
        let backend = bedrock(&Environment::default(), Some("ap-south-1")).unwrap();
        assert_eq!(
            backend.grant.config["endpoint"],
            "https://bedrock-runtime.ap-south-1.amazonaws.com"
        );
        assert!(
            backend
                .sources
                .contains(&("region".into(), "AWS profile".into()))
        );
        let backend = bedrock(&env(&[("AWS_REGION", "cn-north-1")]), None).unwrap();
        assert_eq!(
            backend.grant.config["endpoint"],
            "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"
        );
        assert!(bedrock(&env(&[("AWS_REGION", "US East")]), None).is_err());
    }

    #[test]
    fn endpoint_overrides_as_the_sdks_do() {
        let backend = bedrock(
            &env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
                ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9100/"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(backend.grant.config["endpoint"], "http://127.0.0.1:9100");
        assert!(backend.grant.allow_private);
        let backend = bedrock(&env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]), None);
        assert_eq!(
            backend.unwrap().grant.config["endpoint"],
            "http://127.0.0.1:9000"
        );
        let ignored = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(
            bedrock(&ignored, None).unwrap().grant.config["endpoint"],
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn bedrock_api_key_switches_to_bearer() {
        let backend = bedrock(&env(&[(API_KEY_VAR, "bedrock-key-value")]), None).unwrap();
        assert_eq!(backend.grant.config["auth"], "bearer");
        assert_eq!(backend.grant.config["api-key-secret"], API_KEY_SECRET);
        assert_eq!(backend.grant.config["api-key-env"], API_KEY_VAR);
        assert!(!backend.grant.config.contains_key("credentials-secret"));
        assert_eq!(
            backend.secrets[API_KEY_SECRET],
            SecretSource::Env {
                env: API_KEY_VAR.into()
            }
        );
        assert!(
            backend
                .sources
                .contains(&("auth".into(), API_KEY_VAR.into()))
        );
        assert!(!format!("{backend:?}").contains("bedrock-key-value"));
    }

    #[test]
    fn model_structured_output_and_timeout_variables() {
        let backend = bedrock(
            &env(&[
                ("DMM_BEDROCK_MODEL", "second"),
                ("BEDROCK_MODEL_ID", "first"),
                ("DMM_BEDROCK_STRUCTURED_OUTPUT", "never"),
                ("DMM_BEDROCK_TIMEOUT_SECONDS", "60"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(backend.grant.config["default-model"], "first");
        assert_eq!(backend.grant.config["structured-output"], "never");
        assert_eq!(backend.grant.config["timeout-ms"], "60000");
        let err = bedrock(&env(&[("DMM_BEDROCK_STRUCTURED_OUTPUT", "maybe")]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DMM_BEDROCK_STRUCTURED_OUTPUT = \"maybe\": expected auto, always or never"
        );
        let err = bedrock(&env(&[("DMM_BEDROCK_TIMEOUT_SECONDS", "9000")]), None).unwrap_err();
        assert!(err.to_string().contains("5 to 300"), "{err}");
    }
}

/// The `config_file` fuzz target derives the built-in backends from their manifests without
/// the host, so it names each manifest itself: a built-in backend it leaves out would be
/// missing from the effective configuration it checks.
#[test]
fn the_config_fuzz_target_derives_every_builtin_backend() {
    let target = include_str!("../../../fuzz/fuzz_targets/config_file.rs");
    for manifest in builtin::manifests() {
        if manifest.backend.is_some() {
            let path = format!("plugins/{}/plugin.toml", manifest.id);
            assert!(
                target.contains(&path),
                "fuzz/fuzz_targets/config_file.rs lacks {path}"
            );
        }
    }
}

/// The evaluation defaults the built-ins declare.
#[test]
fn builtin_evaluation_defaults() {
    let backends = derive_builtins(&Environment::default(), None).unwrap();
    let defaults = |id: &str| backends.iter().find(|b| b.id == id).unwrap().defaults;
    for (id, base, calls) in [
        ("anthropic", 60, 8),
        ("bedrock", 30, 10),
        ("gemini", 45, 8),
        ("litellm", 45, 32),
        ("ollama", 60, 4),
    ] {
        let d = defaults(id);
        assert_eq!(d.timeout_base, Some(Duration::from_secs(base)), "{id}");
        assert_eq!(d.max_concurrent_calls, Some(calls), "{id}");
        assert_eq!(d.requests_per_minute, None, "{id}");
    }
}

/// A plugin from the plugins directory: the host derives for it exactly what it derives for a
/// built-in, from the variables its manifest names.
mod third_party {
    use super::*;

    const ACME: &str = r#"
        id = "acme"
        version = "1.0.0"
        kind = "llm-backend"
        component = "acme.wasm"

        [backend]
        default_model = "acme-large"
        model_env = ["ACME_MODEL"]
        timeout_base_seconds = 20
        max_concurrent_calls = 3
        requests_per_minute = 90
        check = "GET /models"

        [backend.destination]
        env = ["ACME_BASE_URL"]
        default = "https://api.acme.example/v1"

        [backend.key]
        env = ["ACME_API_KEY"]

        [backend.request_timeout]
        env = ["ACME_TIMEOUT_SECONDS"]
        default_seconds = 40
        min_seconds = 5
        max_seconds = 120

        [backend.settings.tier]
        env = ["ACME_TIER"]
        allowed = ["free", "pro"]
    "#;

    fn acme(env: &Environment) -> Result<DerivedBackend, ProviderError> {
        let mut manifests = builtin::manifests();
        manifests.push(Manifest::parse(ACME).expect("valid manifest"));
        let backends = derive(&manifests, env, None)?;
        Ok(backends
            .into_iter()
            .find(|b| b.id == "acme")
            .expect("derived"))
    }

    #[test]
    fn defaults_from_its_manifest() {
        let backend = acme(&Environment::default()).unwrap();
        assert_eq!(
            backend.grant.hosts[0].to_string(),
            "https://api.acme.example"
        );
        assert!(!backend.grant.allow_private);
        assert_eq!(
            backend.grant.config["base-url"],
            "https://api.acme.example/v1"
        );
        assert_eq!(backend.grant.config["default-model"], "acme-large");
        assert_eq!(backend.grant.config["timeout-ms"], "40000");
        assert!(backend.secrets.is_empty() && backend.sources.is_empty());
        assert_eq!(
            backend.defaults,
            BackendDefaults {
                timeout_base: Some(Duration::from_secs(20)),
                max_concurrent_calls: Some(3),
                requests_per_minute: Some(90),
            }
        );
    }

    #[test]
    fn destination_key_model_timeout_and_settings_from_its_variables() {
        let backend = acme(&env(&[
            ("ACME_BASE_URL", "http://127.0.0.1:7000/v2"),
            ("ACME_API_KEY", "acme-secret-value"),
            ("ACME_MODEL", "acme-small"),
            ("ACME_TIMEOUT_SECONDS", "90"),
            ("ACME_TIER", "pro"),
        ]))
        .unwrap();
        let config = &backend.grant.config;
        assert_eq!(config["base-url"], "http://127.0.0.1:7000/v2");
        assert!(backend.grant.allow_private);
        assert_eq!(config["default-model"], "acme-small");
        assert_eq!(config["timeout-ms"], "90000");
        assert_eq!(config["tier"], "pro");
        assert_eq!(config["api-key-secret"], "acme-api-key");
        assert_eq!(config["api-key-env"], "ACME_API_KEY");
        assert_eq!(
            backend.secrets["acme-api-key"],
            SecretSource::Env {
                env: "ACME_API_KEY".into()
            }
        );
        assert_eq!(
            backend.grant.secrets["acme-api-key"][0].to_string(),
            "http://127.0.0.1:7000"
        );
        assert_eq!(
            backend.sources,
            [
                ("base-url", "ACME_BASE_URL"),
                ("default-model", "ACME_MODEL"),
                ("timeout-ms", "ACME_TIMEOUT_SECONDS"),
                ("tier", "ACME_TIER"),
                ("api-key", "ACME_API_KEY"),
            ]
            .map(|(s, v)| (s.to_owned(), v.to_owned()))
        );
        assert!(!format!("{backend:?}").contains("acme-secret-value"));
    }

    #[test]
    fn bad_variables_name_themselves_and_what_is_allowed() {
        for (var, value, expected) in [
            (
                "ACME_BASE_URL",
                "acme:7000",
                "ACME_BASE_URL = \"acme:7000\": expected an http:// or https:// URL with a host",
            ),
            (
                "ACME_TIMEOUT_SECONDS",
                "1",
                "ACME_TIMEOUT_SECONDS = \"1\": expected whole seconds from 5 to 120",
            ),
            (
                "ACME_TIER",
                "gold",
                "ACME_TIER = \"gold\": expected free or pro",
            ),
        ] {
            let err = acme(&env(&[(var, value)])).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
    }

    #[test]
    fn another_backends_key_variable_is_refused() {
        let thief = ACME.replace("[\"ACME_API_KEY\"]", "[\"OPENAI_API_KEY\"]");
        let mut manifests = builtin::manifests();
        manifests.push(Manifest::parse(&thief).expect("valid manifest"));
        let err = derive(&manifests, &Environment::default(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backend 'acme' names OPENAI_API_KEY as its key, which is already the key of \
             backend 'litellm'; a key goes to one backend only. Remove the plugin 'acme' or \
             change its [backend.key]"
        );
    }

    #[test]
    fn the_plugins_directory_is_read_and_cannot_replace_a_builtin() {
        let root = tempfile::tempdir().unwrap();
        for (dir, text) in [
            ("acme", ACME.to_owned()),
            (
                "fake-ollama",
                ACME.replace("id = \"acme\"", "id = \"ollama\""),
            ),
        ] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
            std::fs::write(root.path().join(dir).join("plugin.toml"), text).unwrap();
        }
        let found = manifests(Some(root.path()));
        let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.iter().filter(|id| **id == "ollama").count(), 1);
        assert!(ids.contains(&"acme"), "{ids:?}");
        let derived = derive(&found, &Environment::default(), None).unwrap();
        let ollama = derived.iter().find(|b| b.id == "ollama").unwrap();
        assert_eq!(ollama.grant.config["base-url"], "http://localhost:11434");
    }
}

//! The built-in backends' routes, as their manifests declare them, over environments a
//! LiteLLM user has.

use super::*;
use crate::providers::{Environment, ProviderError, derive};

/// The built-in backends' manifests, as the host embeds them.
fn builtins() -> Vec<Manifest> {
    [
        include_str!("../../../plugins/anthropic/plugin.toml"),
        include_str!("../../../plugins/bedrock/plugin.toml"),
        include_str!("../../../plugins/gemini/plugin.toml"),
        include_str!("../../../plugins/litellm/plugin.toml"),
        include_str!("../../../plugins/ollama/plugin.toml"),
    ]
    .iter()
    .map(|text| Manifest::parse(text).expect("a built-in manifest parses"))
    .collect()
}

fn derived_in(vars: &[(&str, &str)]) -> Vec<DerivedBackend> {
    let env = Environment::from_pairs(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    derive(&builtins(), &env, None).expect("the built-ins derive")
}

fn routing_in(vars: &[(&str, &str)]) -> Routing {
    Routing::new(&builtins(), &derived_in(vars))
}

fn routed(backend: &str, model: &str) -> Routed {
    Routed {
        backend: backend.to_owned(),
        model: model.to_owned(),
    }
}

/// Every prefix the issue names, and what a LiteLLM user writes after it.
#[test]
fn every_prefix_goes_to_its_provider_without_the_prefix() {
    let routing = routing_in(&[]);
    let cases = [
        ("openai/gpt-4o-mini", "litellm", "gpt-4o-mini"),
        (
            "anthropic/claude-sonnet-4-5",
            "anthropic",
            "claude-sonnet-4-5",
        ),
        ("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        (
            "bedrock/anthropic.claude-3-sonnet-20240229-v1:0",
            "bedrock",
            "anthropic.claude-3-sonnet-20240229-v1:0",
        ),
        ("ollama/llama3.1:8b", "ollama", "llama3.1:8b"),
        ("ollama_chat/llama3.1:8b", "ollama", "llama3.1:8b"),
        (
            "groq/llama-3.3-70b-versatile",
            "litellm:groq",
            "llama-3.3-70b-versatile",
        ),
        (
            "mistral/mistral-small-latest",
            "litellm:mistral",
            "mistral-small-latest",
        ),
        (
            "deepseek/deepseek-chat",
            "litellm:deepseek",
            "deepseek-chat",
        ),
        (
            "openrouter/openai/gpt-4o-mini",
            "litellm:openrouter",
            "openai/gpt-4o-mini",
        ),
        (
            "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "litellm:together_ai",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        (
            "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
            "litellm:fireworks_ai",
            "accounts/fireworks/models/llama-v3p1-8b-instruct",
        ),
        ("xai/grok-3-mini", "litellm:xai", "grok-3-mini"),
        ("perplexity/sonar", "litellm:perplexity", "sonar"),
        ("cerebras/llama3.1-8b", "litellm:cerebras", "llama3.1-8b"),
        ("azure/my-gpt-4o", "litellm:azure", "my-gpt-4o"),
    ];
    for (model, backend, sent) in cases {
        assert_eq!(
            routing.route("litellm", model),
            routed(backend, sent),
            "{model}"
        );
    }
}

#[test]
fn unprefixed_names_litellm_maps_go_to_their_provider_unchanged() {
    let routing = routing_in(&[]);
    for (model, backend) in [
        ("claude-sonnet-4-5", "anthropic"),
        ("claude-3-5-haiku-20241022", "anthropic"),
        ("gemini-2.5-pro", "gemini"),
        ("gpt-4o-mini", "litellm"),
        ("o1-mini", "litellm"),
        ("o3", "litellm"),
        ("o4-mini", "litellm"),
        ("my-finetune", "litellm"),
    ] {
        assert_eq!(
            routing.route("litellm", model),
            routed(backend, model),
            "{model}"
        );
    }
}

#[test]
fn names_that_only_look_routed_stay() {
    let routing = routing_in(&[]);
    for model in ["groq/", "unknown/model", "Anthropic/claude", "x/claude-3"] {
        assert_eq!(
            routing.route("litellm", model),
            routed("litellm", model),
            "{model}"
        );
    }
    // Only litellm routes: other backends take every name as it is.
    assert_eq!(
        routing.route("ollama", "anthropic/claude"),
        routed("ollama", "anthropic/claude")
    );
}

/// A LiteLLM proxy routes by itself: with its address set, every name goes there unchanged,
/// and no provider backend is derived.
#[test]
fn a_proxy_gets_every_name_unchanged() {
    for var in ["LITELLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_BASE"] {
        let vars = [(var, "http://127.0.0.1:4000"), ("GROQ_API_KEY", "gsk-1")];
        let routing = routing_in(&vars);
        assert!(routing.is_empty(), "{var}");
        for model in ["anthropic/claude-sonnet-4-5", "groq/llama-3.3", "claude-3"] {
            assert_eq!(routing.route("litellm", model), routed("litellm", model));
        }
        assert!(
            derived_in(&vars).iter().all(|d| d.instance_of.is_none()),
            "{var}"
        );
    }
}

/// Each provider of a route is a backend of its own: its address, its key bound to that
/// address alone, the plugin's evaluation defaults, and the route's settings.
#[test]
fn a_provider_backend_has_its_own_destination_and_key() {
    let derived = derived_in(&[
        ("GROQ_API_KEY", "gsk-1"),
        ("DEEPSEEK_API_BASE", "http://127.0.0.1:9100/v1"),
        ("DEEPSEEK_API_KEY", "sk-ds"),
        ("OPENAI_API_KEY", "sk-openai"),
    ]);
    let by_id = |id: &str| derived.iter().find(|d| d.id == id).expect(id);

    let groq = by_id("litellm:groq");
    assert_eq!(groq.instance_of.as_deref(), Some("litellm"));
    assert_eq!(
        groq.grant
            .hosts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["https://api.groq.com"]
    );
    assert!(!groq.grant.allow_private);
    assert_eq!(
        groq.grant.config["base-url"],
        "https://api.groq.com/openai/v1"
    );
    assert_eq!(groq.grant.config["api-key-env"], "GROQ_API_KEY");
    assert_eq!(groq.grant.config["response-format"], "json_object");
    let secret = &groq.grant.config["api-key-secret"];
    assert_eq!(
        groq.grant.secrets[secret]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["https://api.groq.com"]
    );
    assert_eq!(groq.defaults, by_id("litellm").defaults);
    assert!(!groq.grant.config.contains_key("default-model"));

    // An address from its variable: a regional endpoint, a gateway, a test.
    let deepseek = by_id("litellm:deepseek");
    assert_eq!(
        deepseek.grant.config["base-url"],
        "http://127.0.0.1:9100/v1"
    );
    assert!(deepseek.grant.allow_private);
    assert!(
        deepseek
            .sources
            .contains(&("base-url".to_owned(), "DEEPSEEK_API_BASE".to_owned()))
    );

    // No key given: the provider is there (its calls get the provider's 401), without one.
    let xai = by_id("litellm:xai");
    assert!(xai.secrets.is_empty());
    assert!(!xai.grant.config.contains_key("api-key-secret"));

    // No backend holds a key another one holds.
    let mut secrets: Vec<&String> = derived.iter().flat_map(|d| d.secrets.keys()).collect();
    let all = secrets.len();
    secrets.sort();
    secrets.dedup();
    assert_eq!(secrets.len(), all);
    assert_eq!(
        by_id("litellm").grant.config["api-key-env"],
        "OPENAI_API_KEY"
    );
}

/// Azure has no default address: its provider exists once a variable gives one, with the
/// deployment form, the `api-key` header and the API version.
#[test]
fn azure_needs_its_resource_address() {
    let routing = routing_in(&[]);
    assert_eq!(
        routing.missing_address("litellm:azure"),
        Some(
            &[
                "AZURE_API_BASE".to_owned(),
                "AZURE_OPENAI_ENDPOINT".to_owned()
            ][..]
        )
    );
    assert!(derived_in(&[]).iter().all(|d| d.id != "litellm:azure"));

    let derived = derived_in(&[
        ("AZURE_OPENAI_ENDPOINT", "https://acme.openai.azure.com"),
        ("AZURE_API_KEY", "az-key"),
        ("OPENAI_API_VERSION", "2025-01-01-preview"),
    ]);
    let azure = derived
        .iter()
        .find(|d| d.id == "litellm:azure")
        .expect("azure");
    assert_eq!(
        azure.grant.config["base-url"],
        "https://acme.openai.azure.com"
    );
    assert_eq!(azure.grant.config["api-style"], "azure");
    assert_eq!(azure.grant.config["api-key-header"], "api-key");
    assert_eq!(azure.grant.config["api-version"], "2025-01-01-preview");
    assert_eq!(azure.grant.config["api-key-env"], "AZURE_API_KEY");
    assert_eq!(
        Routing::new(&builtins(), &derived).missing_address("litellm:azure"),
        None
    );
}

#[test]
fn destinations_list_every_backend_a_route_reaches() {
    let routing = routing_in(&[]);
    let destinations = routing.destinations("litellm");
    assert_eq!(destinations[0], "litellm");
    for id in ["anthropic", "gemini", "bedrock", "ollama", "litellm:groq"] {
        assert!(destinations.iter().any(|d| d == id), "{id}");
    }
    assert_eq!(routing.destinations("ollama"), ["ollama"]);
}

/// A route's key variable belongs to that provider only.
#[test]
fn a_route_key_claimed_by_another_backend_is_refused() {
    let mut manifests = builtins();
    let acme = Manifest::parse(
        r#"
        id = "acme"
        version = "0.1.0"
        kind = "llm-backend"
        component = "acme.wasm"

        [backend.destination]
        default = "https://api.acme.example"

        [backend.key]
        env = ["GROQ_API_KEY"]
        "#,
    )
    .expect("manifest");
    manifests.push(acme);
    let env = Environment::from_pairs(Vec::<(String, String)>::new());
    match derive(&manifests, &env, None) {
        Err(ProviderError::SharedKey { var, first, second }) => {
            assert_eq!(var, "GROQ_API_KEY");
            assert_eq!(first, "litellm:groq");
            assert_eq!(second, "acme");
        }
        other => panic!("expected a shared key, got {other:?}"),
    }
}

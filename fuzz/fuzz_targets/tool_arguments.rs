//! MCP tool arguments: JSON from the client, read leniently against the tool's input schema
//! and deserialized into the argument structs as the server does, then validated and applied
//! to a session as the tools apply them.
//!
//! Input: the tool's name on the first line, its arguments object after it. Invariants:
//! arguments are either refused with a message, or accepted and every value in the session
//! is within the limits the tool descriptions document (names, descriptions, 2–20 options,
//! at most 10 criteria, weights 0.1–10, temperatures 0–2, scores 1–10); and arguments the
//! lenient reading accepts always deserialize, so no type error reaches a client without
//! the parameter's name.
#![no_main]

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use decision_matrix_core::domain::{
    CriterionSpec, CriterionUpdate, EvaluatorSettings, Limits, Score, Session, SessionDefaults,
    ValidationError,
};
use decision_matrix_core::format;
use decision_matrix_core::lenient;
use decision_matrix_core::params::{
    AddCriterionArgs, AddOptionArgs, MatrixArgs, RemoveCriterionArgs, RemoveOptionArgs,
    SensitivityArgs, SetScoreArgs, StartArgs, UpdateCriterionArgs, UpdateOptionArgs,
};
use libfuzzer_sys::fuzz_target;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;

fuzz_target!(|input: &str| {
    let Some((tool, arguments)) = input.split_once('\n') else {
        return;
    };
    let limits = Limits::default();
    let mut session = base_session(&limits);
    let outcome = match tool {
        "start_decision_analysis" => args(arguments).map(|a: StartArgs| start(a, &limits)),
        "add_criterion" => args(arguments).map(|a: AddCriterionArgs| {
            limits.session_id(&a.session_id)?;
            session.add_criterion(a.spec(), &limits)?;
            format::criterion_added(&session, &a.name);
            Ok(session)
        }),
        "add_option" => args(arguments).map(|a: AddOptionArgs| {
            limits.session_id(&a.session_id)?;
            session.add_option(a.option_name.clone(), a.description, &limits)?;
            format::option_added(&session, &a.option_name);
            Ok(session)
        }),
        "update_option" => args(arguments).map(|a: UpdateOptionArgs| {
            limits.session_id(&a.session_id)?;
            let description = a.description_change();
            session.update_option(&a.option_name, a.new_name, description, &limits)?;
            Ok(session)
        }),
        "remove_option" => args(arguments).map(|a: RemoveOptionArgs| {
            limits.session_id(&a.session_id)?;
            session.remove_option(&a.option_name, &limits)?;
            Ok(session)
        }),
        "update_criterion" => args(arguments).map(|a: UpdateCriterionArgs| {
            limits.session_id(&a.session_id)?;
            session.update_criterion(&a.name, a.update(), &limits)?;
            Ok(session)
        }),
        "remove_criterion" => args(arguments).map(|a: RemoveCriterionArgs| {
            limits.session_id(&a.session_id)?;
            session.remove_criterion(&a.name)?;
            Ok(session)
        }),
        "set_score" => args(arguments).map(|a: SetScoreArgs| set_score(a, session, &limits)),
        "analyze_sensitivity" => args(arguments).map(|a: SensitivityArgs| {
            limits.session_id(&a.session_id)?;
            for (name, weight) in a.weights.unwrap_or_default() {
                let update = CriterionUpdate {
                    weight: Some(weight),
                    ..Default::default()
                };
                session.update_criterion(&name, update, &limits)?;
            }
            Ok(session)
        }),
        "get_decision_matrix" => args(arguments).map(|a: MatrixArgs| {
            limits.session_id(&a.session_id)?;
            Ok(session)
        }),
        _ => return,
    };
    match outcome {
        // Refused by the lenient reading, as the server refuses it.
        Err(message) => assert!(!message.is_empty()),
        Ok(Err(refused)) => assert!(!refused.message.is_empty() && !refused.context.is_empty()),
        Ok(Ok(session)) => check(&session),
    }
});

/// The arguments object as the server reads it: a JSON object, read leniently against the
/// tool's input schema (as rmcp generates it), then `from_value`, which must succeed.
fn args<T: DeserializeOwned + JsonSchema + 'static>(json: &str) -> Result<T, String> {
    let mut object = match serde_json::from_str(json) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err("arguments are not an object".to_owned()),
        Err(error) => return Err(error.to_string()),
    };
    lenient::coerce(&input_schema::<T>(), Some(&mut object)).map_err(|e| e.to_string())?;
    let read = Value::Object(object);
    match serde_json::from_value(read.clone()) {
        Ok(args) => Ok(args),
        Err(error) => panic!("read leniently but not deserialized: {error}: {read}"),
    }
}

/// The input schema of `T` as rmcp generates it, generated once (generating it takes longer
/// than the rest of a run).
fn input_schema<T: JsonSchema + 'static>() -> Rc<Map<String, Value>> {
    thread_local! {
        static SCHEMAS: RefCell<HashMap<TypeId, Rc<Map<String, Value>>>> = RefCell::default();
    }
    SCHEMAS.with_borrow_mut(|schemas| {
        schemas
            .entry(TypeId::of::<T>())
            .or_insert_with(|| {
                let schema = schemars::generate::SchemaSettings::draft2020_12()
                    .into_generator()
                    .into_root_schema_for::<T>();
                match serde_json::to_value(schema) {
                    Ok(Value::Object(schema)) => Rc::new(schema),
                    other => panic!("not an object schema: {other:?}"),
                }
            })
            .clone()
    })
}

fn base_session(limits: &Limits) -> Session {
    let criterion = |name: &str, weight| CriterionSpec {
        name: name.to_owned(),
        description: format!("{name} of running it"),
        weight,
        ..CriterionSpec::default()
    };
    Session::new(
        "00000000-0000-4000-8000-000000000000".to_owned(),
        "Which database for the job queue?".to_owned(),
        ["Postgres", "SQLite", "Redis"]
            .map(|o| (o.to_owned(), None))
            .to_vec(),
        vec![criterion("Cost", 2.0), criterion("Latency", 1.0)],
        session_defaults(),
        limits,
        OffsetDateTime::UNIX_EPOCH,
    )
    .expect("the base session is valid")
}

/// The host's session defaults (`plugins::builtin::session_defaults`: the built-in backend
/// whose manifest says so), without building the host.
fn session_defaults() -> SessionDefaults {
    SessionDefaults::for_backend("bedrock")
}

/// `start_decision_analysis` as the tool builds the session (the backend check needs the
/// plugin catalog and is left out).
fn start(a: StartArgs, limits: &Limits) -> Result<Session, ValidationError> {
    let criteria = (a.initial_criteria.unwrap_or_default().into_iter())
        .map(CriterionSpec::from)
        .collect();
    let defaults = SessionDefaults {
        backend: a
            .model_backend
            .unwrap_or_else(|| session_defaults().backend),
        model: a.model_name,
        temperature: a.temperature,
        judges: (a.judges.into_iter().flatten())
            .map(|judge| EvaluatorSettings {
                backend: judge.model_backend,
                model: judge.model_name,
                temperature: judge.temperature.unwrap_or(a.temperature),
            })
            .collect(),
    };
    let options = a.options.into_iter().map(|o| (o, None)).collect();
    let session = Session::new(
        "s".to_owned(),
        a.topic,
        options,
        criteria,
        defaults,
        limits,
        OffsetDateTime::UNIX_EPOCH,
    )?;
    format::session_created(&session);
    Ok(session)
}

/// `set_score`: the score is checked first, as the tool does, then the cell is set.
fn set_score(
    a: SetScoreArgs,
    mut session: Session,
    limits: &Limits,
) -> Result<Session, ValidationError> {
    let score = match a.score.map(Score::new).transpose() {
        Ok(score) => score,
        Err(_) => {
            return Err(ValidationError {
                message: "Invalid score".into(),
                context: "Invalid score",
            });
        }
    };
    if let Some(score) = score {
        assert!(
            (1.0..=10.0).contains(&score.get()),
            "score {} accepted",
            score.get()
        );
    }
    limits.session_id(&a.session_id)?;
    let now = OffsetDateTime::UNIX_EPOCH;
    session.set_manual(
        &a.option_name,
        &a.criterion_name,
        score,
        a.justification,
        limits,
        now,
    )?;
    Ok(session)
}

/// Every value in an accepted session is within the documented limits.
fn check(session: &Session) {
    let chars = |text: &str| text.chars().count();
    let named = |text: &str, max| !text.trim().is_empty() && chars(text) <= max;
    assert!(named(&session.topic, 500), "topic {:?}", session.topic);
    assert!((0.0..=2.0).contains(&session.defaults.temperature));
    let options = session.options();
    assert!(
        (2..=20).contains(&options.len()),
        "{} options",
        options.len()
    );
    for (i, option) in options.iter().enumerate() {
        assert!(named(&option.name, 200), "option name {:?}", option.name);
        assert!(
            option
                .description
                .as_deref()
                .is_none_or(|d| chars(d) <= 1000)
        );
        assert!(
            options[..i].iter().all(|o| o.name != option.name),
            "duplicate option"
        );
    }
    let criteria = session.criteria();
    assert!(criteria.len() <= 10, "{} criteria", criteria.len());
    for (i, c) in criteria.iter().enumerate() {
        assert!(named(&c.name, 100), "criterion name {:?}", c.name);
        assert!(
            named(&c.description, 1000),
            "criterion description {:?}",
            c.description
        );
        assert!((0.1..=10.0).contains(&c.weight), "weight {}", c.weight);
        assert!(
            c.temperature.is_none_or(|t| (0.0..=2.0).contains(&t)),
            "{:?}",
            c.temperature
        );
        assert!(c.custom_prompt.as_deref().is_none_or(|p| named(p, 4000)));
        assert!(c.model.as_deref().is_none_or(|m| named(m, 200)));
        assert!(
            criteria[..i].iter().all(|o| o.name != c.name),
            "duplicate criterion"
        );
    }
    for (_, cell) in session.cells() {
        if let Some(score) = cell.status.score() {
            assert!((1.0..=10.0).contains(&score.get()));
        }
    }
}

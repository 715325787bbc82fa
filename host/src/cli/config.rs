//! `decision-matrix config show`: every value in force and where it came from.

use std::io::Write;

use crate::config::Loaded;
use crate::config::show::{Entry, entries};
use crate::providers::DerivedBackend;

/// Prints the effective configuration; returns the exit code.
pub fn show(
    loaded: &Loaded,
    backends: &[DerivedBackend],
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let entries = entries(loaded, backends).map_err(anyhow::Error::msg)?;
    let without_effect: Vec<_> = loaded
        .without_effect
        .iter()
        .map(|(variable, reason)| serde_json::json!({"variable": variable, "reason": reason}))
        .collect();
    if json {
        let document = serde_json::json!({
            "file": loaded.file,
            "values": entries,
            "without_effect": without_effect,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(0);
    }
    match &loaded.file {
        Some(file) => writeln!(out, "configuration file: {}", file.display())?,
        None => writeln!(out, "configuration file: none")?,
    }
    writeln!(out)?;
    write_table(&entries, out)?;
    for (variable, reason) in &loaded.without_effect {
        writeln!(
            out,
            "\nnote: {variable} is set but has no effect here: {reason}"
        )?;
    }
    Ok(0)
}

fn write_table(entries: &[Entry], out: &mut dyn Write) -> std::io::Result<()> {
    let rows: Vec<(&str, String, String)> = entries
        .iter()
        .map(|entry| {
            (
                entry.key.as_str(),
                entry.value.to_string(),
                entry.source.to_string(),
            )
        })
        .collect();
    let key_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
    let value_width = rows
        .iter()
        .map(|row| row.1.len())
        .max()
        .unwrap_or(0)
        .min(48);
    for (key, value, source) in rows {
        writeln!(out, "{key:key_width$}  {value:value_width$}  {source}")?;
    }
    Ok(())
}

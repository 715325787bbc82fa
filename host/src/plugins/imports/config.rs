//! `config` import: read-only access to the plugin's settings (never secrets).

use super::super::bindings::config::Host;
use super::super::state::CallState;

impl Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.context.config.get(&key).cloned()
    }

    fn get_all(&mut self) -> Vec<(String, String)> {
        self.context
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

//! Integration tests of every backend: one shared behaviour suite (`suite`) run against
//! memory, SQLite and a real Redis server, plus what is particular to each backend.

mod memory;
mod redis;
mod sqlite;
mod suite;

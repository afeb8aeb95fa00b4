//! Lays out the Census name lists as open-addressing tables of exact keys, so the
//! binary starts with its name sets ready instead of hashing 94,000 names on
//! every run.

use std::path::Path;

#[path = "src/name_key.rs"]
mod name_key;

fn table(list: &str) -> Vec<u8> {
    let names: Vec<u64> = list
        .lines()
        .map(|name| name_key::name_key(name.as_bytes()).expect("names are 1-13 letters A-Z"))
        .collect();
    // At most a third full: short probe runs for the words that are not names.
    let slots = (names.len() * 3).next_power_of_two();
    let mask = slots - 1;
    let mut table = vec![0u64; slots];
    for key in names {
        let mut slot = name_key::first_slot(key, mask);
        while table[slot] != 0 && table[slot] != key {
            slot = (slot + 1) & mask;
        }
        table[slot] = key;
    }
    table.iter().flat_map(|key| key.to_le_bytes()).collect()
}

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    for list in ["first-names", "surnames"] {
        let source = format!("data/{list}.txt");
        println!("cargo::rerun-if-changed={source}");
        let text = std::fs::read_to_string(&source).expect("the name list is in the crate");
        std::fs::write(Path::new(&out).join(format!("{list}.bin")), table(&text))
            .expect("OUT_DIR is writable");
    }
    println!("cargo::rerun-if-changed=src/name_key.rs");
}

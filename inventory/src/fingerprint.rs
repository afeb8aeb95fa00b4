//! Keyed fingerprints of the values found, so the catalog can say which files
//! hold the same SSN or card number without ever holding the number.
//!
//! The key is the organization's (derived from the ledger's fingerprint key), so
//! a nine-digit SSN cannot be brute-forced from its fingerprint by anyone without
//! it: there are only a billion SSNs, but 2^256 keys.

use serde::Serialize;

use crate::detect::Element;

/// Derived from the organization's secret for this use only.
#[derive(Clone)]
pub struct ValueKey([u8; 32]);

impl std::fmt::Debug for ValueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValueKey(..)")
    }
}

/// The context string that separates value fingerprints from every other use
/// of the organization's key.
pub const VALUE_KEY_CONTEXT: &str = "wisp inventory value fingerprints v1";

impl ValueKey {
    /// `derived` must come from a key-derivation with [`VALUE_KEY_CONTEXT`].
    pub fn from_derived(derived: [u8; 32]) -> ValueKey {
        ValueKey(derived)
    }

    /// The fingerprint of `value` as an `element`. Separators and case do not
    /// matter: "123-45-6789" and "123 45 6789" are the same SSN.
    pub fn fingerprint(&self, element: Element, value: &str) -> ValueFingerprint {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(element.name().as_bytes());
        hasher.update(&[0]);
        for byte in value.bytes().filter(|b| b.is_ascii_alphanumeric()) {
            hasher.update(&[byte.to_ascii_uppercase()]);
        }
        let hash = hasher.finalize();
        ValueFingerprint {
            element,
            // 128 bits: collisions are out of reach for any number of records.
            fingerprint: hash.to_hex()[..32].to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ValueFingerprint {
    pub element: Element,
    pub fingerprint: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_case_do_not_matter_but_the_key_and_element_do() {
        let key = ValueKey::from_derived([7; 32]);
        let a = key.fingerprint(Element::Ssn, "123-45-6788");
        assert_eq!(a, key.fingerprint(Element::Ssn, "123 45 6788"));
        assert_eq!(a, key.fingerprint(Element::Ssn, "123456788"));
        assert_ne!(a, key.fingerprint(Element::Account, "123456788"));
        assert_ne!(
            a,
            ValueKey::from_derived([8; 32]).fingerprint(Element::Ssn, "123456788")
        );
        assert_eq!(
            key.fingerprint(Element::License, "s12345678"),
            key.fingerprint(Element::License, "S12345678")
        );
        assert_eq!(a.fingerprint.len(), 32);
        assert!(!a.fingerprint.contains("123456788"));
    }
}

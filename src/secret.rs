//! `Secret`: a value that must not leak. `Debug` redacts it, it has no `Display`, and its
//! serialized form is marked (`{"secret": "…"}`) so that the store seals it before anything
//! reaches the disk ([`seal_marked`], [`open_marked`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// Key of a secret's serialized form before it is sealed.
const MARK: &str = "secret";
/// Key of a sealed secret's serialized form.
const SEALED: &str = "sealed";

/// A secret text (a password a user chose, say).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The text itself, for where it must go (an installer's environment, a comparison).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(MARK, &self.0)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Marked {
            secret: String,
        }
        Marked::deserialize(deserializer).map(|m| Secret(m.secret))
    }
}

fn marked(value: &Value, key: &str) -> Option<String> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(key)?.as_str().map(str::to_string),
        _ => None,
    }
}

/// Replaces every secret in a serialized value by what `seal` makes of its text.
pub fn seal_marked(value: &mut Value, seal: &dyn Fn(&str) -> String) {
    if let Some(text) = marked(value, MARK) {
        *value = serde_json::json!({ SEALED: seal(&text) });
        return;
    }
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| seal_marked(v, seal)),
        Value::Object(map) => map.values_mut().for_each(|v| seal_marked(v, seal)),
        _ => {}
    }
}

/// Undoes [`seal_marked`] with `open`, which fails for a sealed text it cannot open.
pub fn open_marked<E>(
    value: &mut Value,
    open: &dyn Fn(&str) -> Result<String, E>,
) -> Result<(), E> {
    if let Some(sealed) = marked(value, SEALED) {
        *value = serde_json::json!({ MARK: open(&sealed)? });
        return Ok(());
    }
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(|v| open_marked(v, open)),
        Value::Object(map) => map.values_mut().try_for_each(|v| open_marked(v, open)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Holder {
        name: String,
        password: Secret,
        list: Vec<(String, Secret)>,
    }

    fn holder() -> Holder {
        Holder {
            name: "n".into(),
            password: Secret::new("hunter2"),
            list: vec![("V".into(), Secret::new("s3cret"))],
        }
    }

    #[test]
    fn debug_never_shows_the_text() {
        let shown = format!("{:?}", holder());
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("name: \"n\""));
    }

    #[test]
    fn sealing_replaces_every_secret_and_opening_gives_them_back() {
        let mut value = serde_json::to_value(holder()).unwrap();
        seal_marked(&mut value, &|text| text.chars().rev().collect());
        let text = value.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(text.contains("2retnuh"), "{text}");
        open_marked::<()>(&mut value, &|sealed| Ok(sealed.chars().rev().collect())).unwrap();
        assert_eq!(serde_json::from_value::<Holder>(value).unwrap(), holder());
    }

    #[test]
    fn a_sealed_text_that_does_not_open_is_an_error() {
        let mut value = serde_json::to_value(holder()).unwrap();
        seal_marked(&mut value, &|text| text.to_string());
        assert_eq!(
            open_marked(&mut value, &|_| Err("wrong key")),
            Err("wrong key")
        );
    }

    #[test]
    fn objects_that_merely_have_a_secret_key_among_others_are_left_alone() {
        let mut value = serde_json::json!({"secret": "x", "other": 1});
        seal_marked(&mut value, &|_| "sealed".into());
        assert_eq!(value, serde_json::json!({"secret": "x", "other": 1}));
    }
}

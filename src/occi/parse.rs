//! OCCI request parsing: `Category`, `X-OCCI-Attribute` and `X-OCCI-Location` header values,
//! the `text/plain` body form and the `application/occi+json` body form.
//!
//! Both repeated header lines and comma-joined values are accepted, quoted strings may contain
//! commas, semicolons and `\"` escapes, and DISCO's trailing `;` after a Category is tolerated.

use super::model::{AttrValue, CategoryClass, CategoryRef};
use std::fmt;

/// Most attributes one request may carry; far above any real request.
const MAX_ATTRIBUTES: usize = 512;

/// A request that is not valid OCCI. The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// Everything a request said in OCCI terms, gathered from its headers and body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OcciRequest {
    pub categories: Vec<CategoryRef>,
    pub attributes: Vec<(String, AttrValue)>,
    pub locations: Vec<String>,
}

impl OcciRequest {
    /// Adds one header line if it is an OCCI header; other headers are ignored.
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<(), ParseError> {
        match name.to_ascii_lowercase().as_str() {
            "category" => {
                for item in split_list(value, "Category")? {
                    self.categories.push(parse_category(item)?);
                }
            }
            "x-occi-attribute" => {
                for item in split_list(value, "X-OCCI-Attribute")? {
                    let (name, value) = parse_attribute(item)?;
                    self.push_attribute(name, value)?;
                }
            }
            "x-occi-location" => {
                for item in split_list(value, "X-OCCI-Location")? {
                    self.locations.push(item.to_string());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Parses the `text/plain` rendering: one `Header: value` per line.
    pub fn add_text_plain_body(&mut self, body: &str) -> Result<(), ParseError> {
        for (number, line) in body.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return err(format!(
                    "body line {}: expected `Category: …` or `X-OCCI-Attribute: …`, got `{}`",
                    number + 1,
                    shorten(line)
                ));
            };
            let lower = name.trim().to_ascii_lowercase();
            match lower.as_str() {
                "category" | "x-occi-attribute" | "x-occi-location" => {
                    self.add_header(&lower, value.trim())?
                }
                "link" => return err("links are not supported on disco resources"),
                _ => {
                    return err(format!(
                        "body line {}: unknown OCCI header `{}`",
                        number + 1,
                        shorten(name.trim())
                    ))
                }
            }
        }
        Ok(())
    }

    /// Parses the OCCI 1.2 JSON rendering of a resource (`kind`, `mixins`, `attributes`).
    pub fn add_json_body(&mut self, body: &[u8]) -> Result<(), ParseError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| ParseError(format!("the JSON body is not valid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return err("the JSON body must be an object with `kind` and `attributes`");
        };
        if let Some(kind) = object.get("kind") {
            let Some(kind) = kind.as_str() else {
                return err("`kind` must be a string like \"scheme#term\"");
            };
            self.categories
                .push(category_from_id(kind, CategoryClass::Kind)?);
        }
        if let Some(mixins) = object.get("mixins") {
            let Some(mixins) = mixins.as_array() else {
                return err("`mixins` must be an array of strings");
            };
            for mixin in mixins {
                let Some(mixin) = mixin.as_str() else {
                    return err("`mixins` must be an array of strings");
                };
                self.categories
                    .push(category_from_id(mixin, CategoryClass::Mixin)?);
            }
        }
        if let Some(attributes) = object.get("attributes") {
            let Some(attributes) = attributes.as_object() else {
                return err("`attributes` must be an object");
            };
            for (name, value) in attributes {
                check_attribute_name(name)?;
                let value = match value {
                    serde_json::Value::String(s) => AttrValue::String(s.clone()),
                    serde_json::Value::Bool(b) => AttrValue::Bool(*b),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => AttrValue::Integer(i),
                        None => AttrValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                    },
                    serde_json::Value::Null => {
                        return err(format!("attribute {name} is null: leave it out instead"))
                    }
                    other => AttrValue::Json(other.clone()),
                };
                self.push_attribute(name.clone(), value)?;
            }
        }
        Ok(())
    }

    fn push_attribute(&mut self, name: String, value: AttrValue) -> Result<(), ParseError> {
        if self
            .attributes
            .iter()
            .any(|(existing, _)| *existing == name)
        {
            return err(format!("attribute {name} is given more than once"));
        }
        if self.attributes.len() >= MAX_ATTRIBUTES {
            return err(format!("too many attributes (at most {MAX_ATTRIBUTES})"));
        }
        self.attributes.push((name, value));
        Ok(())
    }
}

fn category_from_id(id: &str, class: CategoryClass) -> Result<CategoryRef, ParseError> {
    let Some(hash) = id.rfind('#') else {
        return err(format!(
            "category `{}` must be written as scheme#term",
            shorten(id)
        ));
    };
    let (scheme, term) = id.split_at(hash + 1);
    check_term(term)?;
    Ok(CategoryRef {
        term: term.to_string(),
        scheme: scheme.to_string(),
        class: Some(class),
    })
}

/// Splits a header value at commas that are outside quoted strings.
pub fn split_list<'a>(value: &'a str, header: &str) -> Result<Vec<&'a str>, ParseError> {
    let (items, quote_open) = split_outside_quotes(value, ',');
    if quote_open {
        return err(format!("{header}: a quoted string is not terminated"));
    }
    Ok(items.into_iter().filter(|item| !item.is_empty()).collect())
}

/// Splits at semicolons outside quoted strings (quotes are known to be balanced here).
fn split_params(item: &str) -> Vec<&str> {
    split_outside_quotes(item, ';').0
}

/// The trimmed parts of `text` between `separator`s that are outside quoted strings (a
/// backslash in quotes escapes the next character), and whether a quoted string is left open.
fn split_outside_quotes(text: &str, separator: char) -> (Vec<&str>, bool) {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c == separator && !in_quotes => {
                parts.push(text[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    (parts, in_quotes)
}

/// Parses one category: `term; scheme="…"; class="kind"` with optional further parameters.
pub fn parse_category(item: &str) -> Result<CategoryRef, ParseError> {
    let mut parts = split_params(item).into_iter();
    let term = parts.next().unwrap_or_default();
    check_term(term)?;
    let mut scheme = None;
    let mut class = None;
    let mut seen: Vec<&str> = Vec::new();
    for part in parts {
        if part.is_empty() {
            continue; // DISCO's clients end the category with `;`
        }
        let Some((key, raw)) = part.split_once('=') else {
            return err(format!(
                "Category {term}: expected key=\"value\", got `{}`",
                shorten(part)
            ));
        };
        let key = key.trim();
        if seen.contains(&key) {
            return err(format!(
                "Category {term}: {} is given twice; give each parameter once",
                shorten(key)
            ));
        }
        seen.push(key);
        let raw = raw.trim();
        let value = if raw.starts_with('"') {
            parse_quoted(raw, &format!("Category {term}, {key}"))?
        } else {
            raw.to_string()
        };
        match key {
            "scheme" => scheme = Some(value),
            "class" => {
                class = Some(match value.as_str() {
                    "kind" => CategoryClass::Kind,
                    "mixin" => CategoryClass::Mixin,
                    "action" => CategoryClass::Action,
                    other => {
                        return err(format!(
                            "Category {term}: class must be kind, mixin or action, not `{}`",
                            shorten(other)
                        ))
                    }
                })
            }
            // Further parameters (title, rel, location, attributes, actions) are descriptive.
            "title" | "rel" | "location" | "attributes" | "actions" => {}
            other => {
                return err(format!(
                    "Category {term}: unknown parameter `{}`",
                    shorten(other)
                ))
            }
        }
    }
    let Some(scheme) = scheme else {
        return err(format!("Category {term}: the scheme is missing"));
    };
    if !scheme.ends_with('#') {
        return err(format!("Category {term}: the scheme must end with `#`"));
    }
    Ok(CategoryRef {
        term: term.to_string(),
        scheme,
        class,
    })
}

fn check_term(term: &str) -> Result<(), ParseError> {
    let valid = term
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && term
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        err(format!(
            "`{}` is not a valid category term (letters, digits, `-`, `_`, `.`)",
            shorten(term)
        ))
    }
}

fn check_attribute_name(name: &str) -> Result<(), ParseError> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid && name.len() <= 256 {
        Ok(())
    } else {
        err(format!("`{}` is not a valid attribute name", shorten(name)))
    }
}

/// Parses one `name=value` attribute.
pub fn parse_attribute(item: &str) -> Result<(String, AttrValue), ParseError> {
    let Some((name, raw)) = item.split_once('=') else {
        return err(format!(
            "X-OCCI-Attribute: expected name=\"value\", got `{}`",
            shorten(item)
        ));
    };
    let name = name.trim();
    check_attribute_name(name)?;
    let raw = raw.trim();
    let value =
        if raw.starts_with('"') {
            AttrValue::String(parse_quoted(raw, name)?)
        } else if raw == "true" || raw == "false" {
            AttrValue::Bool(raw == "true")
        } else if is_integer(raw) {
            AttrValue::Integer(raw.parse().map_err(|_| {
                ParseError(format!("{name}: the number {} is too large", shorten(raw)))
            })?)
        } else if is_float(raw) {
            match raw.parse::<f64>() {
                Ok(x) if x.is_finite() => AttrValue::Float(x),
                _ => return err(format!("{name}: the number {} is too large", shorten(raw))),
            }
        } else {
            return err(format!(
                "{name}: the value must be a quoted string, a number or true/false, got `{}`",
                shorten(raw)
            ));
        };
    Ok((name.to_string(), value))
}

fn is_integer(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(raw: &str) -> bool {
    let body = raw.strip_prefix('-').unwrap_or(raw);
    match body.split_once('.') {
        Some((int, frac)) => is_integer(int) && is_integer(frac) && !frac.starts_with('-'),
        None => false,
    }
}

/// Parses a quoted string that must make up all of `raw`. `\"` and `\\` are escapes; any
/// other backslash is kept as written, so Windows paths and regexes survive.
fn parse_quoted(raw: &str, what: &str) -> Result<String, ParseError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            },
            '"' => {
                let rest = raw[i + 1..].trim();
                if !rest.is_empty() {
                    return err(format!(
                        "{what}: unexpected `{}` after the closing quote",
                        shorten(rest)
                    ));
                }
                return Ok(out);
            }
            _ => out.push(c),
        }
    }
    err(format!("{what}: the quoted string is not terminated"))
}

/// Cuts long user input down for an error message.
fn shorten(text: &str) -> String {
    const LIMIT: usize = 60;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "http://schemas.cloudcomplab.ch/occi/sm#";

    fn request_from_headers(headers: &[(&str, &str)]) -> Result<OcciRequest, ParseError> {
        let mut request = OcciRequest::default();
        for (name, value) in headers {
            request.add_header(name, value)?;
        }
        Ok(request)
    }

    #[test]
    fn disco_category_with_trailing_semicolon_parses() {
        let category = parse_category(&format!("disco; scheme=\"{SM}\"; class=\"kind\";")).unwrap();
        assert_eq!(category.term, "disco");
        assert_eq!(category.scheme, SM);
        assert_eq!(category.class, Some(CategoryClass::Kind));
    }

    #[test]
    fn category_without_scheme_is_rejected() {
        let error = parse_category("disco; class=\"kind\"").unwrap_err();
        assert!(error.0.contains("scheme is missing"), "{error}");
    }

    #[test]
    fn a_category_parameter_given_twice_is_rejected() {
        for line in [
            r#"disco; scheme="http://a#"; scheme="http://b#"; class="kind""#,
            r#"disco; scheme="http://a#"; class="kind"; class="mixin""#,
        ] {
            let e = parse_category(line).unwrap_err();
            assert!(e.0.contains("given twice"), "{e}");
        }
    }

    #[test]
    fn category_with_unknown_class_is_rejected() {
        let error =
            parse_category(&format!("disco; scheme=\"{SM}\"; class=\"thing\"")).unwrap_err();
        assert!(error.0.contains("class must be"), "{error}");
    }

    #[test]
    fn comma_joined_attributes_without_spaces_parse_like_discos_readme() {
        let request = request_from_headers(&[(
            "X-OCCI-Attribute",
            "icclab.disco.components.heat.slavecount=\"2\",icclab.disco.dependencies.inject=\"{'shell': ''}\"",
        )])
        .unwrap();
        assert_eq!(
            request.attributes,
            vec![
                (
                    "icclab.disco.components.heat.slavecount".to_string(),
                    AttrValue::String("2".into())
                ),
                (
                    "icclab.disco.dependencies.inject".to_string(),
                    AttrValue::String("{'shell': ''}".into())
                ),
            ]
        );
    }

    #[test]
    fn repeated_attribute_header_lines_are_merged() {
        let request = request_from_headers(&[
            ("X-OCCI-Attribute", "a.b=\"1\""),
            ("x-occi-attribute", "c.d=2, e.f=true, g.h=1.5"),
        ])
        .unwrap();
        assert_eq!(request.attributes.len(), 4);
        assert_eq!(request.attributes[1].1, AttrValue::Integer(2));
        assert_eq!(request.attributes[2].1, AttrValue::Bool(true));
        assert_eq!(request.attributes[3].1, AttrValue::Float(1.5));
    }

    #[test]
    fn quoted_values_keep_commas_semicolons_and_escaped_quotes() {
        let request = request_from_headers(&[(
            "X-OCCI-Attribute",
            r#"x.cmd="echo \"a, b; c\" > /tmp/x", x.path="C:\temp\\dir""#,
        )])
        .unwrap();
        assert_eq!(
            request.attributes[0].1,
            AttrValue::String("echo \"a, b; c\" > /tmp/x".into())
        );
        assert_eq!(
            request.attributes[1].1,
            AttrValue::String("C:\\temp\\dir".into())
        );
    }

    #[test]
    fn unterminated_quote_is_rejected() {
        let error = request_from_headers(&[("X-OCCI-Attribute", "a.b=\"open, c.d=1")]).unwrap_err();
        assert!(error.0.contains("not terminated"), "{error}");
    }

    #[test]
    fn unquoted_word_is_rejected() {
        let error = parse_attribute("a.b=hello").unwrap_err();
        assert!(error.0.contains("quoted string"), "{error}");
    }

    #[test]
    fn text_after_closing_quote_is_rejected() {
        let error = parse_attribute("a.b=\"x\"y").unwrap_err();
        assert!(error.0.contains("after the closing quote"), "{error}");
    }

    #[test]
    fn duplicate_attribute_is_rejected() {
        let error =
            request_from_headers(&[("X-OCCI-Attribute", "a.b=\"1\", a.b=\"2\"")]).unwrap_err();
        assert!(error.0.contains("more than once"), "{error}");
    }

    #[test]
    fn attribute_name_with_spaces_is_rejected() {
        assert!(parse_attribute("a b=\"1\"").is_err());
        assert!(parse_attribute("=\"1\"").is_err());
    }

    #[test]
    fn huge_integer_is_rejected_not_wrapped() {
        let error = parse_attribute("a.b=99999999999999999999999").unwrap_err();
        assert!(error.0.contains("too large"), "{error}");
    }

    /// A float too large for `f64` became infinity, which renders as `inf` and reads back as
    /// nothing at all.
    #[test]
    fn huge_float_is_rejected_not_made_infinite() {
        let error = parse_attribute(&format!("a.b={}.5", "9".repeat(400))).unwrap_err();
        assert!(error.0.contains("too large"), "{error}");
        assert!(
            error.0.len() < 200,
            "the message repeats the whole number: {error}"
        );
    }

    #[test]
    fn text_plain_body_parses_category_and_attributes() {
        let mut request = OcciRequest::default();
        request
            .add_text_plain_body(&format!(
                "Category: disco; scheme=\"{SM}\"; class=\"kind\"\n\nX-OCCI-Attribute: a.b=\"1\"\nX-OCCI-Attribute: c.d=\"x, y\"\n"
            ))
            .unwrap();
        assert_eq!(request.categories.len(), 1);
        assert_eq!(request.attributes.len(), 2);
    }

    #[test]
    fn text_plain_body_with_unknown_line_is_rejected() {
        let mut request = OcciRequest::default();
        let error = request.add_text_plain_body("Foo: bar").unwrap_err();
        assert!(error.0.contains("unknown OCCI header"), "{error}");
        let error = request.add_text_plain_body("no colon here").unwrap_err();
        assert!(error.0.contains("line 1"), "{error}");
    }

    #[test]
    fn json_body_parses_kind_and_typed_attributes() {
        let mut request = OcciRequest::default();
        request
            .add_json_body(
                br#"{"kind": "http://schemas.cloudcomplab.ch/occi/sm#disco",
                     "attributes": {"a.count": 2, "a.name": "x", "a.inject": {"shell": {}}}}"#,
            )
            .unwrap();
        assert_eq!(request.categories[0].term, "disco");
        assert_eq!(request.categories[0].scheme, SM);
        assert!(request
            .attributes
            .contains(&("a.count".to_string(), AttrValue::Integer(2))));
        assert!(
            matches!(request.attributes[1].1, AttrValue::Json(_))
                || matches!(request.attributes[2].1, AttrValue::Json(_))
        );
    }

    /// Found by fuzzing (fuzz/ `occi_json`): serde_json's default float parser is not always
    /// correctly rounded, so a number could come back as a different number after a rendering.
    #[test]
    fn json_floats_parse_to_the_nearest_double() {
        let written = "199999000000000000000000006873995514006732800.5";
        let mut request = OcciRequest::default();
        request
            .add_json_body(format!(r#"{{"attributes": {{"a.f": {written}}}}}"#).as_bytes())
            .unwrap();
        let nearest: f64 = written.parse().unwrap();
        assert_eq!(request.attributes[0].1, AttrValue::Float(nearest));
    }

    #[test]
    fn json_body_that_is_not_an_object_is_rejected() {
        let mut request = OcciRequest::default();
        assert!(request.add_json_body(b"[1,2]").is_err());
        assert!(request.add_json_body(b"{not json").is_err());
    }

    #[test]
    fn locations_split_at_commas() {
        let request =
            request_from_headers(&[("X-OCCI-Location", "/disco/a, http://h/disco/b")]).unwrap();
        assert_eq!(request.locations, vec!["/disco/a", "http://h/disco/b"]);
    }
}

//! What must hold for any input to disco's parsers of untrusted text. Each function takes the
//! raw bytes a fuzzer or a corpus file gives, runs them through the same entry points the
//! HTTP API uses, and panics if a property fails.
//!
//! Shared by the fuzz targets (`fuzz/fuzz_targets/`, through `fuzz/src/lib.rs`) and the corpus
//! test on stable Rust (`tests/fuzz_corpus.rs`); both provide `crate::occi` and
//! `crate::inject`.

use crate::inject::parse_literal;
use crate::occi::render::{quote, render_attribute};
use crate::occi::{negotiate, AttrValue, CategoryClass, MediaType, OcciRequest};
use serde_json::{json, Map, Value};

/// Header names a line of `occi_headers` input is sent as, chosen by its first byte.
const HEADER_NAMES: [&str; 5] = [
    "Category",
    "X-OCCI-Attribute",
    "x-occi-location",
    "X-Occi-Attribute",
    "Accept",
];

/// OCCI request headers (`Category`, `X-OCCI-Attribute`, `X-OCCI-Location`, and `Accept` for
/// content negotiation). Each input line is one header line: its first byte picks the name,
/// the rest is the value (a line that is not UTF-8 is refused as the API refuses it).
///
/// Never panics; whatever parses renders as a `text/plain` body that parses to the same
/// request.
pub fn occi_headers(data: &[u8]) {
    let mut request = OcciRequest::default();
    for line in data.split(|b| *b == b'\n') {
        let Some((selector, value)) = line.split_first() else {
            continue;
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return;
        };
        let name = HEADER_NAMES[usize::from(*selector) % HEADER_NAMES.len()];
        if name == "Accept" {
            let _ = negotiate(Some(value), selector & 0x80 == 0);
            let _ = MediaType::from_content_type(value);
        }
        if request.add_header(name, value).is_err() {
            return;
        }
    }
    assert_text_plain_round_trip(&request);
}

/// A `text/plain` (or `text/occi`) request body.
///
/// Never panics; whatever parses renders back to a body that parses to the same request.
pub fn occi_text_plain(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut request = OcciRequest::default();
    if request.add_text_plain_body(text).is_ok() {
        assert_text_plain_round_trip(&request);
    }
}

/// An `application/occi+json` request body.
///
/// Never panics; whatever parses renders as OCCI JSON that parses to the same request, and as
/// a `text/plain` body that parses.
pub fn occi_json(data: &[u8]) {
    let mut request = OcciRequest::default();
    if request.add_json_body(data).is_err() {
        return;
    }
    let mut object = Map::new();
    let mut mixins = Vec::new();
    for category in &request.categories {
        match category.class {
            Some(CategoryClass::Kind) => {
                assert!(!object.contains_key("kind"), "two kinds from one body");
                object.insert("kind".into(), Value::String(category.id()));
            }
            _ => mixins.push(Value::String(category.id())),
        }
    }
    if !mixins.is_empty() {
        object.insert("mixins".into(), Value::Array(mixins));
    }
    let attributes: Map<String, Value> = request
        .attributes
        .iter()
        .map(|(name, value)| (name.clone(), value.to_json()))
        .collect();
    object.insert("attributes".into(), Value::Object(attributes));
    let rendered = json!(object).to_string();
    let mut again = OcciRequest::default();
    if let Err(e) = again.add_json_body(rendered.as_bytes()) {
        panic!("the JSON rendering {rendered} does not parse: {e}");
    }
    assert_eq!(again, request, "JSON round trip through {rendered}");
    // JSON values become quoted JSON text in text/plain, so only parsing is asked of it.
    let body = render_text_plain(&request);
    if let Err(e) = OcciRequest::default().add_text_plain_body(&body) {
        panic!("the text/plain rendering does not parse: {e}\n{body}");
    }
}

/// The `icclab.disco.dependencies.inject` attribute (Python literal or JSON).
///
/// Never panics; whatever parses renders as JSON (which the attribute also accepts) that parses
/// to the same value.
pub fn inject(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = parse_literal(text) else {
        return;
    };
    let rendered = value.to_string();
    match parse_literal(&rendered) {
        Ok(again) => assert_eq!(again, value, "round trip through {rendered}"),
        Err(e) => panic!("the JSON rendering {rendered} does not parse: {e}"),
    }
}

/// The request as a `text/plain` body: one `Category`, `X-OCCI-Attribute` or
/// `X-OCCI-Location` line per item.
fn render_text_plain(request: &OcciRequest) -> String {
    let mut body = String::new();
    for category in &request.categories {
        body.push_str(&format!(
            "Category: {}; scheme={}",
            category.term,
            quote(&category.scheme)
        ));
        if let Some(class) = category.class {
            body.push_str(&format!("; class=\"{}\"", class.as_str()));
        }
        body.push('\n');
    }
    for (name, value) in &request.attributes {
        body.push_str(&format!(
            "X-OCCI-Attribute: {}\n",
            render_attribute(name, value)
        ));
    }
    for location in &request.locations {
        body.push_str(&format!("X-OCCI-Location: {location}\n"));
    }
    body
}

/// The request's `text/plain` rendering parses, to the same request unless a quoted string
/// held a control character: those are rendered as one-way escapes (`\n`, `\t`, `\u{1}`) that
/// keep a value on one header line and read back as written.
fn assert_text_plain_round_trip(request: &OcciRequest) {
    let body = render_text_plain(request);
    let mut again = OcciRequest::default();
    if let Err(e) = again.add_text_plain_body(&body) {
        panic!("the text/plain rendering does not parse: {e}\n{body}");
    }
    let has_control = |s: &str| s.chars().any(char::is_control);
    let escaped = request.categories.iter().any(|c| has_control(&c.scheme))
        || request.attributes.iter().any(|(_, value)| match value {
            AttrValue::String(s) => has_control(s),
            _ => false,
        });
    if !escaped {
        assert_eq!(&again, request, "text/plain round trip through\n{body}");
    }
}

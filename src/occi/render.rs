//! OCCI renderings of the query interface, resources, collections and messages.

use super::media::MediaType;
use super::model::{ActionDef, AttrValue, KindDef, CORE_SCHEME};
use serde_json::{json, Map, Value};

/// A response body with the headers that carry OCCI data in the `text/occi` rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// A resource as the renderers see it: its kind, location and attributes.
#[derive(Debug, Clone)]
pub struct ResourceView<'a> {
    pub kind: &'a KindDef,
    pub id: String,
    pub location: String,
    pub attributes: Vec<(String, AttrValue)>,
    /// Terms of the kind's actions the resource allows now (linked in the rendering).
    pub actions: Vec<&'a str>,
}

/// Renders a value as an OCCI quoted string. Newlines and other control characters become
/// `\n`-style escapes so that every value fits on one header line.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_value(value: &AttrValue) -> String {
    match value {
        AttrValue::String(s) => quote(s),
        AttrValue::Json(v) => quote(&v.to_string()),
        // `1.0` displays as `1`, which would read back as an integer.
        AttrValue::Float(x) if x.is_finite() && x.fract() == 0.0 => format!("{x}.0"),
        other => other.to_string(),
    }
}

/// One attribute as an `X-OCCI-Attribute` item, `name=value`, in the form the parser reads.
pub fn render_attribute(name: &str, value: &AttrValue) -> String {
    format!("{name}={}", render_value(value))
}

/// The full category line of a kind, as the query interface shows it.
pub fn kind_category(kind: &KindDef) -> String {
    let mut line = format!(
        "{}; scheme={}; class=\"kind\"; title={}",
        kind.term,
        quote(&kind.scheme),
        quote(&kind.title)
    );
    if let Some(rel) = &kind.rel {
        line.push_str(&format!("; rel={}", quote(rel)));
    }
    if let Some(location) = &kind.location {
        line.push_str(&format!("; location={}", quote(location)));
    }
    if !kind.attributes.is_empty() {
        let names: Vec<String> = kind
            .attributes
            .iter()
            .map(|a| {
                let mut name = a.name.clone();
                if a.required {
                    name.push_str("{required}");
                }
                if a.immutable {
                    name.push_str("{immutable}");
                }
                name
            })
            .collect();
        line.push_str(&format!("; attributes={}", quote(&names.join(" "))));
    }
    if !kind.actions.is_empty() {
        let actions: Vec<String> = kind
            .actions
            .iter()
            .map(|a| format!("{}{}", a.scheme, a.term))
            .collect();
        line.push_str(&format!("; actions={}", quote(&actions.join(" "))));
    }
    line
}

fn short_kind_category(kind: &KindDef) -> String {
    format!(
        "{}; scheme={}; class=\"kind\"; title={}",
        kind.term,
        quote(&kind.scheme),
        quote(&kind.title)
    )
}

fn lines_rendering(media: MediaType, lines: Vec<(&'static str, String)>) -> Rendered {
    match media {
        MediaType::TextOcci => Rendered {
            content_type: media.content_type(),
            headers: lines,
            body: "OK\n".to_string(),
        },
        _ => {
            let mut body = String::new();
            for (name, value) in &lines {
                body.push_str(name);
                body.push_str(": ");
                body.push_str(value);
                body.push('\n');
            }
            Rendered {
                content_type: MediaType::TextPlain.content_type(),
                headers: Vec::new(),
                body,
            }
        }
    }
}

fn json_rendering(value: Value) -> Rendered {
    let mut body = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into());
    body.push('\n');
    Rendered {
        content_type: MediaType::OcciJson.content_type(),
        headers: Vec::new(),
        body,
    }
}

fn kind_json(kind: &KindDef) -> Value {
    let mut attributes = Map::new();
    for a in &kind.attributes {
        let mut definition = json!({
            "mutable": !a.immutable,
            "required": a.required,
            "type": a.attr_type.as_json_type(),
            "description": a.description,
        });
        if let Some(default) = &a.default {
            definition["default"] = Value::String(default.clone());
        }
        attributes.insert(a.name.clone(), definition);
    }
    let mut value = json!({
        "term": kind.term,
        "scheme": kind.scheme,
        "title": kind.title,
        "attributes": attributes,
        "actions": kind.actions.iter().map(|a| format!("{}{}", a.scheme, a.term)).collect::<Vec<_>>(),
    });
    if let Some(rel) = &kind.rel {
        value["parent"] = Value::String(rel.clone());
    }
    if let Some(location) = &kind.location {
        value["location"] = Value::String(location.clone());
    }
    value
}

/// Renders the query interface for the given kinds and actions (already filtered by the
/// caller); `owner` is the kind whose attributes the actions take.
pub fn render_query_interface(
    kinds: &[&KindDef],
    actions: &[&ActionDef],
    owner: &KindDef,
    media: MediaType,
) -> Rendered {
    if media == MediaType::OcciJson {
        let actions: Vec<Value> = actions
            .iter()
            .map(|a| {
                let attributes: Map<String, Value> = a
                    .attributes
                    .iter()
                    .map(|name| {
                        let definition = owner
                            .attribute(name)
                            .map(|d| json!({"type": d.attr_type.as_json_type(), "required": true, "mutable": true, "description": d.description}))
                            .unwrap_or_else(|| json!({}));
                        (name.clone(), definition)
                    })
                    .collect();
                json!({"term": a.term, "scheme": a.scheme, "title": a.title, "attributes": attributes})
            })
            .collect();
        return json_rendering(json!({
            "kinds": kinds.iter().map(|k| kind_json(k)).collect::<Vec<_>>(),
            "mixins": [],
            "actions": actions,
        }));
    }
    let mut lines = Vec::new();
    for kind in kinds {
        lines.push(("Category", kind_category(kind)));
    }
    for action in actions {
        lines.push(("Category", action_category(action)));
    }
    lines_rendering(media, lines)
}

fn available<'v>(view: &'v ResourceView<'_>) -> impl Iterator<Item = &'v ActionDef> {
    view.kind
        .actions
        .iter()
        .filter(|a| view.actions.contains(&a.term.as_str()))
}

/// The category line of an action, with the attributes it takes.
fn action_category(action: &ActionDef) -> String {
    let mut line = format!(
        "{}; scheme={}; class=\"action\"; title={}",
        action.term,
        quote(&action.scheme),
        quote(&action.title)
    );
    if !action.attributes.is_empty() {
        line.push_str(&format!(
            "; attributes={}",
            quote(&action.attributes.join(" "))
        ));
    }
    line
}

/// Renders one resource with its attributes and links to the actions it allows now.
pub fn render_resource(view: &ResourceView<'_>, media: MediaType) -> Rendered {
    if media == MediaType::OcciJson {
        let mut attributes = Map::new();
        for (name, value) in &view.attributes {
            attributes.insert(name.clone(), value.to_json());
        }
        return json_rendering(json!({
            "kind": format!("{}{}", view.kind.scheme, view.kind.term),
            "mixins": [],
            "id": view.id,
            "location": view.location,
            "attributes": attributes,
            "actions": available(view).map(|a| format!("{}{}", a.scheme, a.term)).collect::<Vec<_>>(),
            "links": [],
        }));
    }
    let mut lines = vec![("Category", short_kind_category(view.kind))];
    for action in available(view) {
        lines.push((
            "Link",
            format!(
                "<{}?action={}>; rel={}",
                view.location,
                action.term,
                quote(&format!("{}{}", action.scheme, action.term))
            ),
        ));
    }
    for (name, value) in &view.attributes {
        lines.push(("X-OCCI-Attribute", render_attribute(name, value)));
    }
    lines_rendering(media, lines)
}

/// Renders a collection as a list of locations.
pub fn render_collection(locations: &[String], media: MediaType) -> Rendered {
    match media {
        MediaType::UriList => {
            let mut body = String::new();
            for location in locations {
                body.push_str(location);
                body.push('\n');
            }
            Rendered {
                content_type: media.content_type(),
                headers: Vec::new(),
                body,
            }
        }
        MediaType::OcciJson => json_rendering(json!({
            "resources": locations.iter().map(|l| json!({"location": l})).collect::<Vec<_>>(),
        })),
        _ => lines_rendering(
            media,
            locations
                .iter()
                .map(|l| ("X-OCCI-Location", l.clone()))
                .collect(),
        ),
    }
}

/// Renders a short message: an error or an acknowledgement.
pub fn render_message(code: u16, message: &str, media: MediaType) -> Rendered {
    match media {
        MediaType::OcciJson => json_rendering(json!({"error": {"code": code, "message": message}})),
        // A text/occi client gets text/occi back, messages included.
        MediaType::TextOcci => Rendered {
            content_type: media.content_type(),
            headers: Vec::new(),
            body: format!("{message}\n"),
        },
        _ => Rendered {
            content_type: MediaType::TextPlain.content_type(),
            headers: Vec::new(),
            body: format!("{message}\n"),
        },
    }
}

/// The three OCCI core kinds every query interface lists.
pub fn core_kinds() -> Vec<KindDef> {
    use super::model::{AttrType, AttributeDef};
    let attribute = |name: &str, immutable: bool, required: bool, description: &str| AttributeDef {
        name: name.to_string(),
        attr_type: AttrType::String,
        required,
        immutable,
        description: description.to_string(),
        default: None,
    };
    vec![
        KindDef {
            term: "entity".into(),
            scheme: CORE_SCHEME.into(),
            title: "Entity".into(),
            rel: None,
            location: None,
            attributes: vec![
                attribute("occi.core.id", true, false, "Identifier"),
                attribute("occi.core.title", false, false, "Title"),
            ],
            actions: Vec::new(),
        },
        KindDef {
            term: "resource".into(),
            scheme: CORE_SCHEME.into(),
            title: "Resource".into(),
            rel: Some(format!("{CORE_SCHEME}entity")),
            location: None,
            attributes: vec![attribute("occi.core.summary", false, false, "Summary")],
            actions: Vec::new(),
        },
        KindDef {
            term: "link".into(),
            scheme: CORE_SCHEME.into(),
            title: "Link".into(),
            rel: Some(format!("{CORE_SCHEME}entity")),
            location: None,
            attributes: vec![
                attribute("occi.core.source", false, true, "Source of the link"),
                attribute("occi.core.target", false, true, "Target of the link"),
            ],
            actions: Vec::new(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::occi::parse::{parse_attribute, parse_category};

    #[test]
    fn quoted_values_round_trip_through_the_parser() {
        for value in ["plain", "with \"quotes\"", "back\\slash", "a, b; c"] {
            let (_, parsed) = parse_attribute(&format!("x.y={}", quote(value))).unwrap();
            assert_eq!(parsed, AttrValue::String(value.to_string()));
        }
    }

    /// Found by fuzzing (fuzz/ `occi_headers`): `c.d=1.0` was rendered as `c.d=1`, an integer.
    #[test]
    fn floats_render_as_floats_and_parse_back_to_the_same_value() {
        for x in [1.0, -0.0, 1.5, 1e20, -123456789.25, 5e-324] {
            let rendered = render_attribute("x.y", &AttrValue::Float(x));
            let (_, parsed) = parse_attribute(&rendered).unwrap();
            assert_eq!(parsed, AttrValue::Float(x), "{rendered}");
        }
        assert_eq!(render_attribute("x.y", &AttrValue::Float(1.0)), "x.y=1.0");
    }

    #[test]
    fn newlines_become_escapes_so_a_value_fits_one_header_line() {
        let rendered = quote("line one\nline two");
        assert!(!rendered.contains('\n'));
        assert_eq!(rendered, "\"line one\\nline two\"");
    }

    #[test]
    fn kind_category_line_parses_back() {
        let kinds = core_kinds();
        let line = kind_category(&kinds[1]);
        let parsed = parse_category(&line).unwrap();
        assert_eq!(parsed.term, "resource");
        assert_eq!(parsed.scheme, CORE_SCHEME);
    }

    #[test]
    fn text_occi_puts_lines_in_headers_and_ok_in_body() {
        let rendered = render_collection(&["/disco/a".into()], MediaType::TextOcci);
        assert_eq!(rendered.body, "OK\n");
        assert_eq!(
            rendered.headers,
            vec![("X-OCCI-Location", "/disco/a".to_string())]
        );
    }

    #[test]
    fn uri_list_has_one_location_per_line() {
        let rendered =
            render_collection(&["/disco/a".into(), "/disco/b".into()], MediaType::UriList);
        assert_eq!(rendered.body, "/disco/a\n/disco/b\n");
    }
}

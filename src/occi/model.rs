//! The typed OCCI vocabulary: categories, attribute definitions and attribute values.

use std::fmt;

/// Scheme of the OCCI core categories (entity, resource, link).
pub const CORE_SCHEME: &str = "http://schemas.ogf.org/occi/core#";

/// The class of a category, as written in `class="…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryClass {
    Kind,
    Mixin,
    Action,
}

impl CategoryClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryClass::Kind => "kind",
            CategoryClass::Mixin => "mixin",
            CategoryClass::Action => "action",
        }
    }
}

/// A category as a client named it in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRef {
    pub term: String,
    pub scheme: String,
    pub class: Option<CategoryClass>,
}

impl CategoryRef {
    /// `scheme#term` style identifier (the scheme already ends in `#`).
    pub fn id(&self) -> String {
        format!("{}{}", self.scheme, self.term)
    }
}

/// The type of an attribute, as published in the query interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Integer,
    Boolean,
    /// A structured value (a dictionary), e.g. the `inject` attribute.
    Object,
}

impl AttrType {
    pub fn as_json_type(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Integer => "number",
            AttrType::Boolean => "boolean",
            AttrType::Object => "object",
        }
    }
}

/// One attribute a kind accepts or reports.
#[derive(Debug, Clone)]
pub struct AttributeDef {
    pub name: String,
    pub attr_type: AttrType,
    /// Must be given at creation.
    pub required: bool,
    /// Set by the service only; a client may not give it.
    pub immutable: bool,
    pub description: String,
    pub default: Option<String>,
}

/// An action a kind offers (`POST …?action=term`).
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub term: String,
    pub scheme: String,
    pub title: String,
    /// Attributes the action takes (names of the kind's attributes).
    pub attributes: Vec<String>,
}

impl ActionDef {
    pub fn matches(&self, category: &CategoryRef) -> bool {
        self.term == category.term && self.scheme == category.scheme
    }
}

/// A kind with everything the query interface shows about it.
#[derive(Debug, Clone)]
pub struct KindDef {
    pub term: String,
    pub scheme: String,
    pub title: String,
    pub rel: Option<String>,
    pub location: Option<String>,
    pub attributes: Vec<AttributeDef>,
    pub actions: Vec<ActionDef>,
}

impl KindDef {
    pub fn matches(&self, category: &CategoryRef) -> bool {
        self.term == category.term && self.scheme == category.scheme
    }

    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// An attribute value as it travels on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    /// Structured data from a JSON request body.
    Json(serde_json::Value),
}

impl AttrValue {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttrValue::String(s) => serde_json::Value::String(s.clone()),
            AttrValue::Integer(i) => serde_json::Value::from(*i),
            AttrValue::Float(f) => serde_json::Value::from(*f),
            AttrValue::Bool(b) => serde_json::Value::Bool(*b),
            AttrValue::Json(v) => v.clone(),
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::String(s) => f.write_str(s),
            AttrValue::Integer(i) => write!(f, "{i}"),
            AttrValue::Float(x) => write!(f, "{x}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Json(v) => write!(f, "{v}"),
        }
    }
}

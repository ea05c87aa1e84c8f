//! The create form: built from the catalog (the data `GET /-/` shows), read back into the
//! same OCCI attributes a `POST /disco/` carries, and the API's messages put next to the
//! field they name. Pure.

use crate::cluster::attributes::{
    COMPONENTS_PREFIX, INFRASTRUCTURE, INJECT, LIFETIME, SLAVECOUNT, TITLE,
};
use crate::frameworks::{Catalog, ParamType};
use crate::occi::AttrValue;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the browser sent: every field as name and value, in order (checkboxes repeat).
#[derive(Debug, Clone, Default)]
pub struct Posted(pub Vec<(String, String)>);

impl Posted {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The frameworks ticked.
    pub fn frameworks(&self) -> Vec<String> {
        self.all("framework").map(str::to_string).collect()
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// The form field of a framework parameter.
pub fn param_field(framework: &str, parameter: &str) -> String {
    format!("p.{framework}.{parameter}")
}

/// One parameter's input.
#[derive(Debug, Clone, Serialize)]
pub struct ParamInput {
    pub name: String,
    pub field: String,
    /// `number`, `select`, `boolean`, `password` or `text`.
    pub input: &'static str,
    pub description: String,
    pub value: String,
    pub default: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub max_length: Option<usize>,
    pub values: Vec<String>,
    pub error: Option<String>,
}

/// One framework's choice.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkChoice {
    pub name: String,
    pub version: String,
    pub description: String,
    pub dependencies: Vec<String>,
    /// Pulled in by another chosen framework (shown ticked and fixed).
    pub required_by: Vec<String>,
    pub chosen: bool,
    pub parameters: Vec<ParamInput>,
}

/// A plain field (slave count, lifetime, title, cloud names).
#[derive(Debug, Clone, Serialize)]
pub struct PlainField {
    pub field: String,
    pub label: String,
    pub value: String,
    pub hint: String,
    pub error: Option<String>,
}

/// Everything the create page shows.
#[derive(Debug, Clone, Serialize)]
pub struct CreateForm {
    pub frameworks: Vec<FrameworkChoice>,
    pub slavecount: PlainField,
    pub max_slavecount: u32,
    pub lifetime: PlainField,
    pub title: PlainField,
    /// Image, flavor and network names (openstack only).
    pub cloud: Vec<PlainField>,
    /// A message that names no field.
    pub general_error: Option<String>,
    pub framework_error: Option<String>,
}

/// A description as a sentence, so the hints after it read on.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn toml_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The chosen frameworks' dependencies, transitively: name → who needs it.
fn pulled_in(catalog: &Catalog, chosen: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue: Vec<String> = chosen.to_vec();
    while let Some(name) = queue.pop() {
        let Some(framework) = catalog.get(&name) else {
            continue;
        };
        for dependency in &framework.manifest.dependencies {
            let by = needed.entry(dependency.clone()).or_default();
            if !by.contains(&name) {
                by.push(name.clone());
                queue.push(dependency.clone());
            }
        }
    }
    needed
}

impl CreateForm {
    /// The form for `catalog`, filled with what was posted (or the defaults).
    pub fn build(
        catalog: &Catalog,
        posted: &Posted,
        max_slavecount: u32,
        openstack: bool,
    ) -> CreateForm {
        let chosen = posted.frameworks();
        let needed = pulled_in(catalog, &chosen);
        let frameworks = catalog
            .iter()
            .filter(|f| !f.manifest.always)
            .map(|f| {
                let manifest = &f.manifest;
                let parameters = manifest
                    .parameters
                    .iter()
                    .map(|(name, spec)| {
                        let field = param_field(&manifest.name, name);
                        let default = spec.default.as_ref().map(toml_text).unwrap_or_default();
                        let input = match spec.param_type {
                            ParamType::Integer => "number",
                            ParamType::Enum => "select",
                            ParamType::Boolean => "boolean",
                            ParamType::String if spec.secret => "password",
                            ParamType::String => "text",
                        };
                        let value = match posted.get(&field) {
                            Some(v) => v.to_string(),
                            None if spec.secret => String::new(),
                            None => default.clone(),
                        };
                        ParamInput {
                            name: name.clone(),
                            field,
                            input,
                            description: sentence(&spec.description),
                            value,
                            default,
                            min: spec.min,
                            max: spec.max,
                            max_length: spec.max_length,
                            values: spec.values.clone(),
                            error: None,
                        }
                    })
                    .collect();
                FrameworkChoice {
                    name: manifest.name.clone(),
                    version: manifest.version.clone(),
                    description: manifest.description.clone(),
                    dependencies: manifest.dependencies.clone(),
                    required_by: needed.get(&manifest.name).cloned().unwrap_or_default(),
                    chosen: chosen.contains(&manifest.name),
                    parameters,
                }
            })
            .collect();
        let plain = |field: &str, label: &str, default: &str, hint: &str| PlainField {
            field: field.into(),
            label: label.into(),
            value: posted.get(field).unwrap_or(default).to_string(),
            hint: hint.into(),
            error: None,
        };
        let cloud = if openstack {
            INFRASTRUCTURE
                .iter()
                .map(|(short, meaning)| plain(short, meaning, "", "Empty: the service's default."))
                .collect()
        } else {
            Vec::new()
        };
        CreateForm {
            frameworks,
            slavecount: plain(
                "slavecount",
                "Slaves",
                "1",
                &format!("0 to {max_slavecount}, besides the master."),
            ),
            max_slavecount,
            lifetime: plain(
                "lifetime",
                "Lifetime",
                "",
                "Deleted by itself after this long: seconds, or 30m, 2h, 7d. Empty: until you delete it.",
            ),
            title: plain("title", "Title", "", "A name to know it by."),
            cloud,
            general_error: None,
            framework_error: None,
        }
    }

    /// Puts an API message next to the field it names; one naming none goes on top.
    pub fn show_error(&mut self, message: &str) {
        match field_named(message, &self.fields()) {
            Some(field) => self.set_error(&field, message),
            None if message.contains(INJECT)
                || self
                    .frameworks
                    .iter()
                    .any(|f| message.contains(&format!("`{}`", f.name))) =>
            {
                self.framework_error = Some(message.to_string())
            }
            None => self.general_error = Some(message.to_string()),
        }
    }

    /// Each field with the attribute it becomes.
    fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            ("slavecount".to_string(), SLAVECOUNT.to_string()),
            ("lifetime".to_string(), LIFETIME.to_string()),
            ("title".to_string(), TITLE.to_string()),
        ];
        for (short, _) in INFRASTRUCTURE {
            fields.push((
                short.to_string(),
                format!("{COMPONENTS_PREFIX}heat.{short}"),
            ));
        }
        for framework in &self.frameworks {
            for parameter in &framework.parameters {
                fields.push((
                    parameter.field.clone(),
                    format!("{COMPONENTS_PREFIX}{}.{}", framework.name, parameter.name),
                ));
            }
        }
        fields
    }

    fn set_error(&mut self, field: &str, message: &str) {
        let error = Some(message.to_string());
        for plain in [&mut self.slavecount, &mut self.lifetime, &mut self.title]
            .into_iter()
            .chain(self.cloud.iter_mut())
        {
            if plain.field == field {
                plain.error = error;
                return;
            }
        }
        for parameter in self
            .frameworks
            .iter_mut()
            .flat_map(|f| f.parameters.iter_mut())
        {
            if parameter.field == field {
                parameter.error = error;
                return;
            }
        }
    }
}

/// The field whose attribute the message names (the longest name wins, so
/// `heat.slaveimage` is not taken for a shorter one).
fn field_named(message: &str, fields: &[(String, String)]) -> Option<String> {
    fields
        .iter()
        .filter(|(_, attribute)| message.contains(attribute.as_str()))
        .max_by_key(|(_, attribute)| attribute.len())
        .map(|(field, _)| field.clone())
}

/// The OCCI attributes the form stands for, as a `POST /disco/` would carry them: only the
/// chosen frameworks' parameters, empty fields left out (their defaults apply).
pub fn attributes(posted: &Posted) -> Vec<(String, AttrValue)> {
    let chosen = posted.frameworks();
    let mut attributes = Vec::new();
    let inject: serde_json::Map<String, serde_json::Value> = chosen
        .iter()
        .map(|name| (name.clone(), serde_json::json!({})))
        .collect();
    attributes.push((
        INJECT.to_string(),
        AttrValue::String(serde_json::Value::Object(inject).to_string()),
    ));
    let text = |value: &str| AttrValue::String(value.to_string());
    if let Some(count) = posted.text("slavecount") {
        attributes.push((SLAVECOUNT.to_string(), text(count)));
    }
    if let Some(lifetime) = posted.text("lifetime") {
        attributes.push((LIFETIME.to_string(), text(lifetime)));
    }
    if let Some(title) = posted.get("title").filter(|t| !t.trim().is_empty()) {
        attributes.push((TITLE.to_string(), text(title)));
    }
    for (short, _) in INFRASTRUCTURE {
        if let Some(value) = posted.text(short) {
            attributes.push((format!("{COMPONENTS_PREFIX}heat.{short}"), text(value)));
        }
    }
    for (name, value) in &posted.0 {
        let Some((framework, parameter)) = name
            .strip_prefix("p.")
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        if chosen.iter().any(|c| c == framework) && !value.is_empty() {
            attributes.push((
                format!("{COMPONENTS_PREFIX}{framework}.{parameter}"),
                text(value),
            ));
        }
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterSpec, SpecLimits};
    use crate::frameworks::repository_catalog as catalog;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_form_becomes_the_attributes_of_a_create() {
        let form = posted(&[
            ("framework", "shell"),
            ("p.shell.command", "echo hi"),
            ("p.spark.worker_cores", "2"),
            ("slavecount", " 2 "),
            ("lifetime", ""),
            ("title", "<b>x</b>"),
        ]);
        let attributes = attributes(&form);
        let find = |name: &str| {
            attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_string())
        };
        assert_eq!(find(INJECT).as_deref(), Some(r#"{"shell":{}}"#));
        assert_eq!(find(SLAVECOUNT).as_deref(), Some("2"));
        assert_eq!(find(TITLE).as_deref(), Some("<b>x</b>"));
        assert_eq!(
            find("icclab.disco.components.shell.command").as_deref(),
            Some("echo hi")
        );
        assert!(find(LIFETIME).is_none(), "an empty field takes the default");
        assert!(
            find("icclab.disco.components.spark.worker_cores").is_none(),
            "a framework not chosen sends no parameters"
        );
    }

    #[test]
    fn a_message_goes_next_to_the_field_it_names() {
        let fields = vec![
            ("slavecount".to_string(), SLAVECOUNT.to_string()),
            (
                "slaveimage".to_string(),
                format!("{COMPONENTS_PREFIX}heat.slaveimage"),
            ),
            (
                "p.shell.roles".to_string(),
                "icclab.disco.components.shell.roles".to_string(),
            ),
        ];
        let named = |m: &str| field_named(m, &fields);
        assert_eq!(
            named("icclab.disco.components.heat.slavecount must be 0 to 4").as_deref(),
            Some("slavecount")
        );
        assert_eq!(
            named("icclab.disco.components.shell.roles must be one of all, master").as_deref(),
            Some("p.shell.roles")
        );
        assert_eq!(named("disco is full"), None);
    }

    #[test]
    fn the_form_has_every_framework_but_the_base_with_typed_inputs() {
        let form = CreateForm::build(&catalog(), &posted(&[("framework", "zeppelin")]), 4, false);
        let names: Vec<&str> = form.frameworks.iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&"shell") && names.contains(&"spark"));
        assert!(!names.contains(&"base"), "the base layer is not a choice");
        let spark = form.frameworks.iter().find(|f| f.name == "spark").unwrap();
        assert_eq!(spark.required_by, vec!["zeppelin".to_string()]);
        let input = |name: &str| spark.parameters.iter().find(|p| p.name == name).unwrap();
        assert_eq!(input("worker_cores").input, "number");
        assert_eq!(input("history_server").input, "boolean");
        let shell = form.frameworks.iter().find(|f| f.name == "shell").unwrap();
        let roles = shell.parameters.iter().find(|p| p.name == "roles").unwrap();
        assert_eq!((roles.input, roles.value.as_str()), ("select", "all"));
        assert!(form.cloud.is_empty(), "no cloud names on the local backend");
        let cloud = CreateForm::build(&catalog(), &Posted::default(), 4, true);
        assert_eq!(cloud.cloud.len(), INFRASTRUCTURE.len());
    }

    #[test]
    fn the_spec_s_own_messages_land_next_to_their_fields() {
        let catalog = catalog();
        let limits = SpecLimits { max_slave_count: 4 };
        for (pairs, field) in [
            (
                vec![("framework", "spark"), ("p.spark.worker_cores", "-1")],
                "p.spark.worker_cores",
            ),
            (
                vec![("framework", "shell"), ("p.shell.roles", "some")],
                "p.shell.roles",
            ),
            (
                vec![("framework", "shell"), ("slavecount", "17")],
                "slavecount",
            ),
            (
                vec![("framework", "shell"), ("lifetime", "soon")],
                "lifetime",
            ),
        ] {
            let posted = posted(&pairs);
            let error = ClusterSpec::parse(&attributes(&posted), &catalog, limits)
                .expect_err("a bad value");
            let mut form = CreateForm::build(&catalog, &posted, 4, false);
            form.show_error(&error.to_string());
            let fields: Vec<(&str, &Option<String>)> = [&form.slavecount, &form.lifetime]
                .into_iter()
                .map(|p| (p.field.as_str(), &p.error))
                .chain(
                    form.frameworks
                        .iter()
                        .flat_map(|f| f.parameters.iter())
                        .map(|p| (p.field.as_str(), &p.error)),
                )
                .collect();
            let with_error: Vec<&str> = fields
                .iter()
                .filter(|(_, e)| e.is_some())
                .map(|(f, _)| *f)
                .collect();
            assert_eq!(with_error, vec![field], "{error}");
        }
    }
}

//! `disco plan`: what a create request would send to Heat, worked out without any cloud.
//!
//! The attributes go through the same parsing as the HTTP API (so the same messages come
//! back for the same mistakes); the result is the stack document the openstack backend would
//! send, with placeholders where only a real create has values (a key disco generates, the
//! cluster's name and generated secrets); a public key the user brings is shown as sent.

use crate::backend::openstack::template::StackDocument;
use crate::cluster::{ClusterSpec, SpecLimits};
use crate::config::Settings;
use crate::frameworks::Catalog;
use crate::occi::parse::{parse_attribute, split_list};
use crate::occi::AttrValue;
use crate::plan::ClusterPlan;
use crate::startup::{heat_templates, stack_settings};
use std::fmt::Write;
use uuid::Uuid;

/// Attributes from `--attribute NAME=VALUE` flags: the value is taken literally, as a string.
pub fn attributes_from_flags(flags: &[String]) -> Result<Vec<(String, AttrValue)>, String> {
    flags
        .iter()
        .map(|flag| {
            let (name, value) = flag
                .split_once('=')
                .ok_or_else(|| format!("--attribute `{flag}`: expected NAME=VALUE"))?;
            Ok((
                name.trim().to_string(),
                AttrValue::String(value.to_string()),
            ))
        })
        .collect()
}

/// Attributes from a file in `X-OCCI-Attribute` syntax: `name="value"` (or numbers, booleans),
/// one or more per line, optionally after `X-OCCI-Attribute:`; `#` starts a comment line.
pub fn attributes_from_text(text: &str) -> Result<Vec<(String, AttrValue)>, String> {
    let mut attributes = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("X-OCCI-Attribute:")
            .map(str::trim)
            .unwrap_or(line);
        let items = split_list(line, "X-OCCI-Attribute")
            .map_err(|e| format!("line {}: {e}", number + 1))?;
        for item in items {
            attributes
                .push(parse_attribute(item).map_err(|e| format!("line {}: {e}", number + 1))?);
        }
    }
    Ok(attributes)
}

/// The stack a request with `attributes` would create.
pub fn plan_stack(
    settings: &Settings,
    attributes: &[(String, AttrValue)],
) -> Result<StackDocument, String> {
    let frameworks_dir = std::path::absolute(&settings.frameworks.dir)
        .map_err(|e| format!("frameworks.dir: {e}"))?;
    let catalog = Catalog::load(&frameworks_dir).map_err(|e| e.to_string())?;
    let limits = SpecLimits {
        max_slave_count: settings.limits.max_slavecount,
    };
    let spec = ClusterSpec::parse(attributes, &catalog, limits).map_err(|e| e.to_string())?;
    let plan = ClusterPlan::build(Uuid::nil(), &spec, &catalog).map_err(|e| e.to_string())?;
    let stack = stack_settings(settings).map_err(|e| e.to_string())?;
    let slaves = plan.nodes.len().saturating_sub(1) as u32;
    if slaves > stack.max_slave_count {
        return Err(format!(
            "at most {} slaves fit the cluster network",
            stack.max_slave_count
        ));
    }
    let templates = heat_templates(settings, &frameworks_dir).map_err(|e| e.to_string())?;
    templates
        .render_preview_with_key(&plan, &stack, spec.ssh_public_key.as_deref())
        .map_err(|e| e.to_string())
}

/// The plan for people: parameters, installers, then the template.
pub fn render_readable(document: &StackDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Heat parameters (each value a user chose travels as one of these)"
    );
    for (name, value) in &document.parameters {
        let shown = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "{name} = {shown}");
    }
    let _ = writeln!(
        out,
        "\n# Files sent with the stack (each role's framework files are one gzip+base64 bundle)"
    );
    for (name, content) in &document.files {
        let _ = writeln!(out, "{name} ({} bytes)", content.len());
    }
    let _ = writeln!(
        out,
        "\n# User data per node, as Nova takes it (base64; at most 64 KiB)"
    );
    for (role, bytes) in &document.user_data_bytes {
        let _ = writeln!(out, "{role}: about {} KiB", bytes.div_ceil(1024));
    }
    for (role, script) in &document.installers {
        let _ = writeln!(
            out,
            "\n# Installer run by cloud-init on every {role} node\n{script}"
        );
    }
    let template = serde_json::to_string_pretty(&document.template).unwrap_or_default();
    let _ = writeln!(out, "# Heat template (HOT, sent as JSON)\n{template}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_values_literally_and_files_use_occi_syntax() {
        let flags = attributes_from_flags(&["a.b=x=\"y\"".into()]).unwrap();
        assert_eq!(
            flags[0],
            ("a.b".into(), AttrValue::String("x=\"y\"".into()))
        );
        assert!(attributes_from_flags(&["novalue".into()]).is_err());
        let text = "# comment\nX-OCCI-Attribute: a.b=\"1\", c.d=2\n\ne.f=\"x\"\n";
        let parsed = attributes_from_text(text).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1], ("c.d".into(), AttrValue::Integer(2)));
        assert!(attributes_from_text("a.b=unquoted words")
            .unwrap_err()
            .starts_with("line 1"));
    }
}

//! The report languages and the one way a sentence's `{placeholders}` are filled. A leaf: the
//! catalogue ([`super::i18n`]) and the findings ([`super::finding`]) both use it.

use serde::{Deserialize, Serialize};

/// A report language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// English (default).
    #[default]
    En,
    /// Korean.
    Ko,
}

impl Lang {
    /// The BCP 47 tag (`en`, `ko`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s {
            "en" => Ok(Lang::En),
            "ko" => Ok(Lang::Ko),
            other => Err(format!("unknown language {other:?}: use en or ko")),
        }
    }
}

/// Replace `{key}` placeholders.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_string(), |s, (k, v)| {
        s.replace(&format!("{{{k}}}"), v)
    })
}

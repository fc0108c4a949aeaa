//! Secrets: key material that cannot be printed, is zeroized on drop, and carries
//! its HMAC-SHA256 key state prepared once.
//!
//! A [`Secret`] is what a verifier (or the reference sender) keys its MAC with.
//! It has no `Display`, its `Debug` prints `Secret(<redacted>)`, and both the raw
//! bytes and the prepared HMAC state (the hashed inner and outer pads) are wiped
//! when it is dropped. Preparing the state once matters for speed as well: keying
//! HMAC costs two SHA-256 compressions, which is a third of the work for a small
//! body, so the verifier clones the prepared state per request instead.
//!
//! [`SecretSource`] mirrors Stalwart's `SecretKeyOptional` (`None`, `Value`,
//! `EnvironmentVariable`, `File`) and deserializes from the same JSON shape, so a
//! receiver can be configured with the very object its Stalwart server uses.

use std::{fmt, path::PathBuf};

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::tag::{HmacSha256, Tag};

/// The prefix of a Standard Webhooks (Svix, Resend) secret.
pub const STANDARD_WEBHOOKS_SECRET_PREFIX: &str = "whsec_";

/// How a secret's text became its key bytes. The verifier uses this to refuse a
/// Standard Webhooks secret that was never decoded (the most common Svix mistake).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyEncoding {
    /// The bytes given are the key (Stalwart, email-API, Mailtrap, auth credentials).
    Raw,
    /// Decoded from `whsec_<base64>`.
    StandardWebhooks,
}

/// HMAC key material. Cannot be printed, is zeroized on drop.
///
/// ```
/// use webhook_core::Secret;
///
/// let secret = Secret::new("my-secret-key");
/// assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
/// ```
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
    mac: HmacSha256,
    encoding: KeyEncoding,
}

impl Secret {
    /// A secret whose key is exactly these bytes (for text, its UTF-8 bytes).
    ///
    /// This is how Stalwart, the email-API senders and Mailtrap use their secrets:
    /// the text is the key, never hex- or base64-decoded. For Standard Webhooks use
    /// [`Secret::standard_webhooks`].
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        Self::from_owned(Zeroizing::new(key.as_ref().to_vec()), KeyEncoding::Raw)
    }

    /// A Standard Webhooks secret: `whsec_` followed by standard base64 of the key.
    /// The prefix is optional, as in the reference libraries.
    ///
    /// ```
    /// use webhook_core::Secret;
    ///
    /// let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(secret.len(), 24);
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn standard_webhooks(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .strip_prefix(STANDARD_WEBHOOKS_SECRET_PREFIX)
            .unwrap_or(text);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotStandardWebhooks)?;
        if decoded.is_empty() {
            return Err(SecretError::Empty {
                origin: "the Standard Webhooks secret".into(),
            });
        }
        Ok(Self::from_owned(
            Zeroizing::new(decoded),
            KeyEncoding::StandardWebhooks,
        ))
    }

    fn from_owned(bytes: Zeroizing<Vec<u8>>, encoding: KeyEncoding) -> Self {
        // HMAC accepts keys of any length (long ones are hashed first), so this
        // cannot fail; `expect` documents the invariant rather than a real path.
        let mac = HmacSha256::new_from_slice(&bytes).expect("HMAC takes keys of any length");
        Self {
            bytes,
            mac,
            encoding,
        }
    }

    /// The secret in the environment variable `name`, used as text (Stalwart, email-API,
    /// Mailtrap, credentials). An unset, non-UTF-8 or empty variable is an error that
    /// names the variable, never the value.
    ///
    /// ```no_run
    /// use webhook_core::{Scheme, Secret, Verifier};
    ///
    /// let verifier = Verifier::builder(Scheme::Stalwart)
    ///     .secret(Secret::from_env("HOOK_SECRET")?)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env(name: &str) -> Result<Self, SecretError> {
        SecretSource::env(name).require()
    }

    /// The secret in the file at `path`, minus one trailing newline (see
    /// [`SecretSource`]), used as text.
    pub fn from_file(path: impl Into<PathBuf>) -> Result<Self, SecretError> {
        SecretSource::file(path).require()
    }

    /// Number of key bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the key is empty. The verifier refuses empty keys: an empty HMAC key
    /// is valid to the algorithm and worthless as a secret.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn encoding(&self) -> KeyEncoding {
        self.encoding
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// HMAC-SHA256 over the concatenation of `parts`, from the prepared key state.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Tag {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        Tag::from_array(mac.finalize().into_bytes().into())
    }
}

impl From<String> for Secret {
    /// Takes the string's bytes as the key and zeroizes them with the secret.
    fn from(text: String) -> Self {
        Self::from_owned(Zeroizing::new(text.into_bytes()), KeyEncoding::Raw)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret comes from, as Stalwart's `SecretKeyOptional` has it.
///
/// Deserializes from Stalwart's registry JSON:
/// `{"@type":"None"}`, `{"@type":"Value","secret":"…"}`,
/// `{"@type":"EnvironmentVariable","variableName":"…"}`,
/// `{"@type":"File","filePath":"…"}`.
///
/// **Files:** exactly one trailing newline (`\n` or `\r\n`) is removed, because
/// editors and `echo` add one. Other trailing whitespace is kept. Stalwart itself
/// trims *all* trailing whitespace from a key file, so a key file ending in spaces
/// gives different keys to the two; `webhook verify` names that mistake when it sees it.
///
/// **Failure closes:** where Stalwart logs an unloadable key and sends unsigned,
/// [`SecretSource::load`] returns an error so a receiver never starts half-configured.
///
/// ```
/// use webhook_core::SecretSource;
///
/// let source: SecretSource = serde_json::from_str(
///     r#"{"@type":"EnvironmentVariable","variableName":"HOOK_SECRET_UNSET_IN_DOCS"}"#,
/// )?;
/// assert!(source.load().is_err()); // the variable is not set
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(tag = "@type")]
pub enum SecretSource {
    /// No secret: the sender does not sign.
    #[default]
    None,
    /// The secret itself.
    Value {
        /// The secret text.
        secret: SecretText,
    },
    /// The secret is the value of an environment variable.
    #[serde(rename_all = "camelCase")]
    EnvironmentVariable {
        /// Name of the variable.
        variable_name: String,
    },
    /// The secret is the content of a file, minus one trailing newline.
    #[serde(rename_all = "camelCase")]
    File {
        /// Path of the file.
        file_path: PathBuf,
    },
}

impl SecretSource {
    /// A source holding the secret text itself.
    pub fn value(secret: impl Into<String>) -> Self {
        Self::Value {
            secret: SecretText(Zeroizing::new(secret.into())),
        }
    }

    /// A source reading the environment variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        Self::EnvironmentVariable {
            variable_name: name.into(),
        }
    }

    /// A source reading the file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File {
            file_path: path.into(),
        }
    }

    /// Loads the secret as raw key bytes (Stalwart, email-API, Mailtrap, auth).
    /// `Ok(None)` for [`SecretSource::None`], the one source that holds no secret: a
    /// receiver that must have one calls [`SecretSource::require`].
    pub fn load(&self) -> Result<Option<Secret>, SecretError> {
        Ok(self.load_text()?.map(|text| Secret::new(text.as_bytes())))
    }

    /// Loads the secret as raw key bytes, for a receiver that must have one: as
    /// [`SecretSource::load`], with [`SecretSource::None`] refused as
    /// [`SecretError::NotConfigured`] instead of `Ok(None)`.
    ///
    /// ```
    /// use webhook_core::{SecretError, SecretSource};
    ///
    /// let secret = SecretSource::value("my-secret-key").require()?;
    /// assert_eq!(secret.len(), 13);
    /// assert!(matches!(SecretSource::None.require(), Err(SecretError::NotConfigured)));
    /// # Ok::<(), SecretError>(())
    /// ```
    pub fn require(&self) -> Result<Secret, SecretError> {
        self.load()?.ok_or(SecretError::NotConfigured)
    }

    /// Loads a Standard Webhooks secret (`whsec_…`, base64-decoded).
    pub fn load_standard_webhooks(&self) -> Result<Option<Secret>, SecretError> {
        self.load_text()?
            .map(|text| Secret::standard_webhooks(&text))
            .transpose()
    }

    /// Loads the secret's text exactly as [`SecretSource::load`] would key with it (one
    /// trailing newline removed from a file), for tools that inspect it, such as
    /// [`diagnose`](crate::diagnose::diagnose). Zeroized on drop.
    pub fn load_text(&self) -> Result<Option<Zeroizing<String>>, SecretError> {
        let (text, origin) = match self {
            Self::None => return Ok(None),
            Self::Value { secret } => (secret.0.clone(), "the configured value".to_owned()),
            Self::EnvironmentVariable { variable_name } => {
                let text = std::env::var(variable_name).map_err(|err| match err {
                    std::env::VarError::NotPresent => SecretError::EnvVarMissing {
                        name: variable_name.clone(),
                    },
                    std::env::VarError::NotUnicode(_) => SecretError::EnvVarNotUnicode {
                        name: variable_name.clone(),
                    },
                })?;
                (
                    Zeroizing::new(text),
                    format!("environment variable `{variable_name}`"),
                )
            }
            Self::File { file_path } => {
                let raw = Zeroizing::new(std::fs::read(file_path).map_err(|source| {
                    SecretError::File {
                        path: file_path.clone(),
                        source,
                    }
                })?);
                let trimmed = strip_one_newline(&raw);
                let text = std::str::from_utf8(trimmed).map_err(|_| SecretError::FileNotUtf8 {
                    path: file_path.clone(),
                })?;
                (
                    Zeroizing::new(text.to_owned()),
                    format!("file `{}`", file_path.display()),
                )
            }
        };
        if text.is_empty() {
            return Err(SecretError::Empty { origin });
        }
        Ok(Some(text))
    }
}

fn strip_one_newline(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes)
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Value { .. } => f.write_str("Value(<redacted>)"),
            Self::EnvironmentVariable { variable_name } => f
                .debug_struct("EnvironmentVariable")
                .field("variable_name", variable_name)
                .finish(),
            Self::File { file_path } => f
                .debug_struct("File")
                .field("file_path", file_path)
                .finish(),
        }
    }
}

/// Secret text inside a [`SecretSource::Value`]: zeroized on drop, never printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretText(Zeroizing<String>);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a secret could not be loaded. Messages name the source, never the secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("environment variable `{name}` is not set: export it before starting the receiver")]
    EnvVarMissing {
        /// Variable name.
        name: String,
    },
    /// The environment variable is not valid Unicode.
    #[error("environment variable `{name}` is not valid UTF-8: secrets are used as text")]
    EnvVarNotUnicode {
        /// Variable name.
        name: String,
    },
    /// The secret file could not be read.
    #[error("cannot read secret file `{}`: {source}", path.display())]
    File {
        /// File path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The secret file is not UTF-8 text.
    #[error("secret file `{}` is not UTF-8 text: secrets are used as text", path.display())]
    FileNotUtf8 {
        /// File path.
        path: PathBuf,
    },
    /// The secret is empty.
    #[error("the secret from {origin} is empty: an empty HMAC key authenticates nothing")]
    Empty {
        /// Where it came from (variable or file name, never the value).
        origin: String,
    },
    /// The source holds no secret ([`SecretSource::None`]) where one is required.
    #[error(
        "no secret is configured: give the sender's signing secret as a value, an \
         environment variable or a file"
    )]
    NotConfigured,
    /// Not a Standard Webhooks secret.
    #[error(
        "not a Standard Webhooks secret: expected `whsec_` followed by standard base64 \
         (copy the whole secret from the sender's dashboard)"
    )]
    NotStandardWebhooks,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let secret = Secret::new("hunter2-very-secret");
        let source = SecretSource::value("hunter2-very-secret");
        for printed in [
            format!("{secret:?}"),
            format!("{source:?}"),
            format!("{source:#?}"),
        ] {
            assert!(!printed.contains("hunter2"), "{printed}");
        }
    }

    #[test]
    fn file_loses_exactly_one_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("hookwise-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (content, expected) in [
            (&b"key\n"[..], &b"key"[..]),
            (b"key\r\n", b"key"),
            (b"key\n\n", b"key\n"),
            (b"key ", b"key "),
            (b"key", b"key"),
        ] {
            let path = dir.join("secret");
            std::fs::write(&path, content).unwrap();
            let secret = SecretSource::file(&path).load().unwrap().unwrap();
            assert_eq!(secret.expose(), expected, "content {content:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_sources_are_refused_with_their_origin() {
        let dir = std::env::temp_dir().join(format!("hookwise-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, "\n").unwrap();
        let err = SecretSource::file(&path).load().unwrap_err();
        assert!(matches!(err, SecretError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("secret"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            SecretSource::value("").load(),
            Err(SecretError::Empty { .. })
        ));
    }

    #[test]
    fn required_secrets_come_back_without_an_option() {
        let dir = std::env::temp_dir().join(format!("hookwise-require-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, "file-key\n").unwrap();
        assert_eq!(Secret::from_file(&path).unwrap().expose(), b"file-key");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            Secret::from_file(&path),
            Err(SecretError::Empty { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        let err = Secret::from_env("HOOKWISE_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert!(
            err.to_string().contains("HOOKWISE_TEST_SURELY_UNSET_VAR"),
            "{err}"
        );
        assert!(matches!(
            SecretSource::None.require(),
            Err(SecretError::NotConfigured)
        ));
    }

    #[test]
    fn missing_env_var_names_the_variable() {
        let err = SecretSource::env("HOOKWISE_TEST_SURELY_UNSET_VAR")
            .load()
            .unwrap_err();
        assert!(err.to_string().contains("HOOKWISE_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn deserializes_stalwart_registry_shapes() {
        let cases = [
            (r#"{"@type":"None"}"#, "None"),
            (
                r#"{"@type":"Value","secret":"s3cr3t"}"#,
                "Value(<redacted>)",
            ),
            (
                r#"{"@type":"EnvironmentVariable","variableName":"HOOK"}"#,
                "EnvironmentVariable { variable_name: \"HOOK\" }",
            ),
            (
                r#"{"@type":"File","filePath":"/run/secrets/hook"}"#,
                "File { file_path: \"/run/secrets/hook\" }",
            ),
        ];
        for (json, debug) in cases {
            let source: SecretSource = serde_json::from_str(json).unwrap();
            assert_eq!(format!("{source:?}"), debug);
        }
        let value: SecretSource = serde_json::from_str(cases[1].0).unwrap();
        assert_eq!(value.load().unwrap().unwrap().expose(), b"s3cr3t");
    }

    #[test]
    fn standard_webhooks_prefix_is_optional_and_base64_is_checked() {
        let with = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let without = Secret::standard_webhooks("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(with.expose(), without.expose());
        assert_eq!(with.encoding(), KeyEncoding::StandardWebhooks);
        assert!(matches!(
            Secret::standard_webhooks("whsec_not base64!"),
            Err(SecretError::NotStandardWebhooks)
        ));
        assert!(matches!(
            Secret::standard_webhooks("whsec_"),
            Err(SecretError::Empty { .. })
        ));
    }
}

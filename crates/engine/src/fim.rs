//! Fill-in-the-middle: the code before and after the cursor, and how each server is asked to
//! fill it. llama.cpp takes it on `/infill` (the server builds the model's prompt), Ollama on
//! `/api/generate` with `suffix`; an OpenAI-compatible server gets a raw prompt in the model's
//! own FIM template on `/v1/completions` (vLLM refuses `suffix`, llama.cpp's `/v1` ignores it).
//! The templates' exact strings come from the models' tokenizers (as collected in Continue's
//! `core/autocomplete/templating/AutocompleteTemplate.ts` and the Qwen2.5-Coder report, arXiv
//! 2409.12186, Fig. 4); which one a model uses is chosen from its name or `--fim-template`.

use crate::spec::NativeFim;

/// One fill-in-the-middle request's text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fim {
    /// Code before the cursor.
    pub prefix: String,
    /// Code after the cursor.
    pub suffix: String,
    /// Other files of the repository, as `(path, text)` (shared: an editor's ring of chunks
    /// goes with many requests).
    pub extra: std::sync::Arc<[(String, String)]>,
    /// Where in `prefix` the cursor's line starts: llama.vscode sends the lines before it as
    /// `input_prefix` and the line up to the cursor as `prompt` (0 with the window editor).
    pub line_start: usize,
    /// Which editor's request this is.
    pub editor: Editor,
}

/// Which editor's autocomplete requests are sent (`--editor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Editor {
    /// servebench's own sliding window: the last `--prefix-tokens` and first
    /// `--suffix-tokens` of the file around the cursor, a 150 ms debounce, and the stream
    /// dropped at the next keystroke.
    #[default]
    Window,
    /// llama.vscode (ggml-org/llama.vscode v0.0.63, `src/llama-server.ts`,
    /// `src/completion.ts`, `package.json`): 256 lines before the cursor's line and 64 after
    /// it, the line up to the cursor as `prompt`, up to 16 chunks of 32 lines from the places
    /// visited as `input_extra`; `n_predict` 128, `top_k` 40, `top_p` 0.99, samplers
    /// `top_k, top_p, infill`, `t_max_prompt_ms` and `t_max_predict_ms` 500, `id_slot` 0,
    /// `n_indent`; no debounce, a request on every keystroke unless one is in flight (then the
    /// latest keystroke's waits in 150 ms polls), and a sent request never aborted.
    LlamaVscode,
}

impl Editor {
    /// Every editor, in the order `--editor` lists them.
    pub const ALL: [Editor; 2] = [Editor::LlamaVscode, Editor::Window];

    /// The name in flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Editor::Window => "window",
            Editor::LlamaVscode => "llama.vscode",
        }
    }
}

/// llama.vscode's defaults (`package.json` of v0.0.63 and `src/configuration.ts`).
pub mod llama_vscode {
    /// Lines before the cursor's line sent (`n_prefix`).
    pub const N_PREFIX: usize = 256;
    /// Lines after it (`n_suffix`).
    pub const N_SUFFIX: usize = 64;
    /// Generation limit (`n_predict`).
    pub const N_PREDICT: u32 = 128;
    /// Chunks kept in the ring of extra context (`ring_n_chunks`).
    pub const RING_CHUNKS: usize = 16;
    /// Lines of one chunk (`ring_chunk_size` / 2, a random slice of a longer text).
    pub const CHUNK_LINES: usize = 32;
    /// How often a waiting request checks whether the one in flight has finished, s.
    pub const POLL_S: f64 = 0.150;
}

impl std::str::FromStr for Editor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Editor::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Editor::ALL.iter().map(|e| e.name()).collect();
                format!("unknown editor {s:?}: use one of {}", names.join(", "))
            })
    }
}

/// A model family's FIM prompt format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `<|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>`, repository files as `<|file_sep|>`.
    Qwen,
    /// `<fim_prefix>…<fim_suffix>…<fim_middle>`, repository files as `<file_sep>`.
    StarCoder,
    /// `<PRE> … <SUF>… <MID>`.
    CodeLlama,
    /// `<｜fim▁begin｜>…<｜fim▁hole｜>…<｜fim▁end｜>` (U+FF5C bars, U+2581 marks).
    DeepSeek,
    /// Suffix first: `[SUFFIX]…[PREFIX]…`, no middle token.
    Codestral,
}

impl Template {
    /// Every template, in the order `--fim-template` lists them.
    pub const ALL: [Template; 5] = [
        Template::Qwen,
        Template::StarCoder,
        Template::CodeLlama,
        Template::DeepSeek,
        Template::Codestral,
    ];

    /// The name in flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Template::Qwen => "qwen",
            Template::StarCoder => "starcoder",
            Template::CodeLlama => "codellama",
            Template::DeepSeek => "deepseek",
            Template::Codestral => "codestral",
        }
    }

    /// The template a model name implies (`Qwen/Qwen2.5-Coder-7B`, `qwen2.5-coder:1.5b`,
    /// `bigcode/starcoder2-3b`, `codellama:7b-code`, `deepseek-coder-6.7b-base`,
    /// `codestral-22b`); `None` when the name says nothing (then `--fim-template` must).
    pub fn for_model(model: &str) -> Option<Template> {
        let m = model.to_ascii_lowercase();
        let has = |s: &str| m.contains(s);
        Some(if has("qwen") && has("coder") {
            Template::Qwen
        } else if has("starcoder") {
            Template::StarCoder
        } else if has("codellama") || has("code-llama") || has("code_llama") {
            Template::CodeLlama
        } else if has("deepseek") && has("coder") {
            Template::DeepSeek
        } else if has("codestral") {
            Template::Codestral
        } else {
            return None;
        })
    }

    /// The raw prompt for `fim`.
    pub fn render(self, fim: &Fim) -> String {
        let (p, s) = (&fim.prefix, &fim.suffix);
        match self {
            Template::Qwen => {
                let mut out = String::new();
                if !fim.extra.is_empty() {
                    out.push_str("<|repo_name|>repo\n");
                    for (path, text) in fim.extra.iter() {
                        out.push_str(&format!("<|file_sep|>{path}\n{text}\n"));
                    }
                    out.push_str("<|file_sep|>current\n");
                }
                out.push_str(&format!("<|fim_prefix|>{p}<|fim_suffix|>{s}<|fim_middle|>"));
                out
            }
            Template::StarCoder => {
                let mut out = String::new();
                for (path, text) in fim.extra.iter() {
                    out.push_str(&format!("<file_sep>{path}\n{text}\n"));
                }
                if !fim.extra.is_empty() {
                    out.push_str("<file_sep>");
                }
                out.push_str(&format!("<fim_prefix>{p}<fim_suffix>{s}<fim_middle>"));
                out
            }
            Template::CodeLlama => format!("<PRE> {p} <SUF>{s} <MID>"),
            Template::DeepSeek => {
                format!(
                    "<\u{ff5c}fim\u{2581}begin\u{ff5c}>{p}<\u{ff5c}fim\u{2581}hole\u{ff5c}>{s}<\u{ff5c}fim\u{2581}end\u{ff5c}>"
                )
            }
            Template::Codestral => format!("[SUFFIX]{s}[PREFIX]{p}"),
        }
    }

    /// Strings that end a completion in this format (the format's own markers, so a model that
    /// runs on past the gap is cut where the server would stop it).
    pub fn stops(self) -> &'static [&'static str] {
        match self {
            Template::Qwen => &[
                "<|endoftext|>",
                "<|fim_prefix|>",
                "<|fim_middle|>",
                "<|fim_suffix|>",
                "<|fim_pad|>",
                "<|repo_name|>",
                "<|file_sep|>",
                "<|im_start|>",
                "<|im_end|>",
            ],
            Template::StarCoder => &[
                "<fim_prefix>",
                "<fim_suffix>",
                "<fim_middle>",
                "<file_sep>",
                "<|endoftext|>",
            ],
            Template::CodeLlama => &["<PRE>", "<SUF>", "<MID>", "<EOT>"],
            Template::DeepSeek => &["<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>"],
            Template::Codestral => &["[PREFIX]", "[SUFFIX]"],
        }
    }
}

impl std::str::FromStr for Template {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Template::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Template::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown FIM template {s:?}: use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// How a FIM request reaches the server (`fim.method` in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// llama.cpp `/infill`: the server builds the prompt from its model's FIM tokens.
    Infill,
    /// Ollama `/api/generate` with `suffix`: the model's template renders it.
    Suffix,
    /// A raw prompt in a FIM template on `/v1/completions`.
    Raw(Template),
}

impl Method {
    /// The method for a server that fills natively by `native` serving `model`:
    /// `--fim-template` asks for a raw prompt in that template on any server (llama.cpp
    /// `/completion`, Ollama `raw`, `/v1/completions`); without it a server fills its own way
    /// (llama.cpp on `/infill`, Ollama by `suffix`). A server with no way of its own (the
    /// OpenAI-compatible API) serving a model whose name implies no template, and no
    /// `--fim-template`, cannot be asked: the error names the model and the flag.
    pub fn choose(
        native: NativeFim,
        model: &str,
        template: Option<Template>,
    ) -> Result<Method, String> {
        match native {
            NativeFim::Infill => Ok(template.map_or(Method::Infill, Method::Raw)),
            NativeFim::Suffix => Ok(template.map_or(Method::Suffix, Method::Raw)),
            NativeFim::None => template
                .or_else(|| Template::for_model(model))
                .map(Method::Raw)
                .ok_or_else(|| {
                    let names: Vec<&str> = Template::ALL.iter().map(|t| t.name()).collect();
                    format!(
                        "model {model}: its name names no fill-in-the-middle format: pass --fim-template with one of {}",
                        names.join(", ")
                    )
                }),
        }
    }

    /// The report's name: `infill`, `suffix` or `raw:<template>`.
    pub fn name(self) -> String {
        match self {
            Method::Infill => "infill".into(),
            Method::Suffix => "suffix".into(),
            Method::Raw(t) => format!("raw:{}", t.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fim() -> Fim {
        Fim {
            prefix: "def f(x):\n    return ".into(),
            suffix: "\n\nprint(f(2))\n".into(),
            extra: Default::default(),
            ..Default::default()
        }
    }

    #[test]
    fn each_template_renders_its_exact_markers_in_its_order() {
        let f = fim();
        assert_eq!(
            Template::Qwen.render(&f),
            "<|fim_prefix|>def f(x):\n    return <|fim_suffix|>\n\nprint(f(2))\n<|fim_middle|>"
        );
        assert_eq!(
            Template::StarCoder.render(&f),
            "<fim_prefix>def f(x):\n    return <fim_suffix>\n\nprint(f(2))\n<fim_middle>"
        );
        assert_eq!(
            Template::CodeLlama.render(&f),
            "<PRE> def f(x):\n    return  <SUF>\n\nprint(f(2))\n <MID>"
        );
        let ds = Template::DeepSeek.render(&f);
        assert!(ds.starts_with("<｜fim▁begin｜>def f") && ds.ends_with("<｜fim▁end｜>"));
        assert!(ds.contains("<｜fim▁hole｜>\n\nprint"));
        assert_eq!(
            ds.chars().filter(|c| *c == '\u{ff5c}').count(),
            6,
            "fullwidth bars, not ASCII"
        );
        // Codestral: suffix first.
        assert_eq!(
            Template::Codestral.render(&f),
            "[SUFFIX]\n\nprint(f(2))\n[PREFIX]def f(x):\n    return "
        );
    }

    #[test]
    fn repository_files_precede_the_gap_at_repo_level() {
        let f = Fim {
            extra: vec![("util.py".into(), "def g(): pass".into())].into(),
            ..fim()
        };
        assert_eq!(
            Template::Qwen.render(&f),
            "<|repo_name|>repo\n<|file_sep|>util.py\ndef g(): pass\n<|file_sep|>current\n<|fim_prefix|>def f(x):\n    return <|fim_suffix|>\n\nprint(f(2))\n<|fim_middle|>"
        );
        assert!(
            Template::StarCoder
                .render(&f)
                .starts_with("<file_sep>util.py\ndef g(): pass\n<file_sep><fim_prefix>")
        );
    }

    #[test]
    fn the_method_follows_the_server_and_the_model_name() {
        assert_eq!(
            Method::choose(NativeFim::Infill, "x", None),
            Ok(Method::Infill)
        );
        assert_eq!(
            Method::choose(NativeFim::Suffix, "x", None),
            Ok(Method::Suffix)
        );
        assert_eq!(
            Method::choose(NativeFim::Infill, "x", Some(Template::Qwen)),
            Ok(Method::Raw(Template::Qwen))
        );
        for (model, t) in [
            ("Qwen/Qwen2.5-Coder-7B", Template::Qwen),
            ("qwen2.5-coder:1.5b-base", Template::Qwen),
            ("bigcode/starcoder2-3b", Template::StarCoder),
            ("codellama:7b-code", Template::CodeLlama),
            ("deepseek-ai/deepseek-coder-6.7b-base", Template::DeepSeek),
            ("mistralai/Codestral-22B-v0.1", Template::Codestral),
        ] {
            assert_eq!(
                Method::choose(NativeFim::None, model, None),
                Ok(Method::Raw(t)),
                "{model}"
            );
        }
        let e = Method::choose(NativeFim::None, "meta-llama/Llama-3.1-8B", None).unwrap_err();
        assert!(
            e.contains("Llama-3.1-8B") && e.contains("--fim-template"),
            "{e}"
        );
        assert_eq!(
            Method::choose(NativeFim::None, "my-model", Some(Template::StarCoder)),
            Ok(Method::Raw(Template::StarCoder))
        );
        assert_eq!(Method::Raw(Template::Qwen).name(), "raw:qwen");
        assert!(
            "nope"
                .parse::<Template>()
                .unwrap_err()
                .contains("qwen, starcoder")
        );
    }
}

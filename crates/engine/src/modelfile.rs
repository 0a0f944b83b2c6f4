//! Model facts read from local model files, so a report states them instead of guessing:
//! the GGUF header (llama.cpp, Ollama blobs) and a Hugging Face model directory
//! (`config.json` + `*.safetensors`).
//!
//! Hand-written GGUF reading: only the header is needed (metadata and tensor shapes, a few
//! hundred lines of a simple little-endian format), and the crates that read GGUF pull in a
//! whole inference stack.

use crate::report::ModelInfo;
use serde_json::Value;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// Facts from a GGUF file's header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GgufFacts {
    /// `general.architecture`.
    pub architecture: Option<String>,
    /// `general.file_type` as llama.cpp names it (`Q4_K_M`).
    pub file_type: Option<String>,
    /// Sum of the tensors' element counts.
    pub parameter_count: u64,
    /// `<arch>.context_length`.
    pub context_length: Option<u64>,
    /// `general.size_label` ("135M").
    pub size_label: Option<String>,
    /// File size, bytes.
    pub file_bytes: u64,
}

/// llama.cpp's `llama_ftype` names (`general.file_type`).
pub fn ftype_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => return None,
    })
}

/// Entries above this count mean a corrupt header, not a model.
const MAX_ENTRIES: u64 = 10_000_000;

struct Gguf<R> {
    r: R,
}

impl<R: Read + Seek> Gguf<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn count(&mut self) -> std::io::Result<u64> {
        let n = self.u64()?;
        if n > MAX_ENTRIES {
            return Err(bad("implausible count"));
        }
        Ok(n)
    }
    fn string(&mut self) -> std::io::Result<String> {
        let n = self.count()?;
        let mut b = vec![0u8; n as usize];
        self.r.read_exact(&mut b)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        self.r.seek_relative(n as i64)
    }
    /// Read a scalar value as u64/string, or skip it; arrays are skipped.
    fn value(&mut self, ty: u32) -> std::io::Result<Meta> {
        Ok(match ty {
            0 | 1 | 7 => Meta::Int(u64::from(self.bytes::<1>()?[0])),
            2 | 3 => Meta::Int(u64::from(u16::from_le_bytes(self.bytes()?))),
            4 | 5 => Meta::Int(u64::from(self.u32()?)),
            6 => {
                self.skip(4)?;
                Meta::Other
            }
            8 => Meta::Str(self.string()?),
            9 => {
                let (ety, n) = (self.u32()?, self.count()?);
                match ety {
                    0 | 1 | 7 => self.skip(n)?,
                    2 | 3 => self.skip(2 * n)?,
                    4..=6 => self.skip(4 * n)?,
                    10..=12 => self.skip(8 * n)?,
                    8 => {
                        for _ in 0..n {
                            let len = self.count()?;
                            self.skip(len)?;
                        }
                    }
                    _ => return Err(bad("nested or unknown array type")),
                }
                Meta::Other
            }
            10 | 11 => Meta::Int(self.u64()?),
            12 => {
                self.skip(8)?;
                Meta::Other
            }
            _ => return Err(bad("unknown value type")),
        })
    }
}

enum Meta {
    Int(u64),
    Str(String),
    Other,
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("not a GGUF file: {what}"),
    )
}

/// Read the header of the GGUF file at `path`.
pub fn read_gguf(path: &Path) -> std::io::Result<GgufFacts> {
    let file = File::open(path)?;
    let file_bytes = file.metadata()?.len();
    let mut g = Gguf {
        r: BufReader::new(file),
    };
    if &g.bytes::<4>()? != b"GGUF" {
        return Err(bad("no GGUF magic"));
    }
    let version = g.u32()?;
    if version < 2 {
        return Err(bad("GGUF version 1 is not supported"));
    }
    let (tensors, kvs) = (g.count()?, g.count()?);
    let mut facts = GgufFacts {
        file_bytes,
        ..Default::default()
    };
    let mut ctx = Vec::new();
    for _ in 0..kvs {
        let key = g.string()?;
        let ty = g.u32()?;
        match (key.as_str(), g.value(ty)?) {
            ("general.architecture", Meta::Str(s)) => facts.architecture = Some(s),
            ("general.file_type", Meta::Int(t)) => {
                facts.file_type = u32::try_from(t)
                    .ok()
                    .and_then(ftype_name)
                    .map(str::to_string)
            }
            ("general.size_label", Meta::Str(s)) => facts.size_label = Some(s),
            (k, Meta::Int(v)) if k.ends_with(".context_length") => ctx.push((key.clone(), v)),
            _ => {}
        }
    }
    facts.context_length = facts.architecture.as_ref().and_then(|a| {
        let want = format!("{a}.context_length");
        ctx.iter().find(|(k, _)| *k == want).map(|(_, v)| *v)
    });
    for _ in 0..tensors {
        g.string()?;
        let dims = g.u32()?;
        if dims > 8 {
            return Err(bad("tensor with more than 8 dimensions"));
        }
        let mut n = 1u64;
        for _ in 0..dims {
            n = n.saturating_mul(g.u64()?);
        }
        g.skip(4 + 8)?;
        facts.parameter_count = facts.parameter_count.saturating_add(n);
    }
    Ok(facts)
}

/// Facts from a Hugging Face model directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HfFacts {
    /// `quantization_config.quant_method` (+ bits), else the stored dtype (`bfloat16`).
    pub quantization: Option<String>,
    /// `max_position_embeddings`.
    pub context_length: Option<u64>,
    /// `model_type`.
    pub family: Option<String>,
    /// Sum of the `*.safetensors` file sizes.
    pub weights_bytes: u64,
}

/// Read `config.json` and the safetensors sizes of the model directory `dir`.
pub fn read_hf_dir(dir: &Path) -> std::io::Result<HfFacts> {
    let config: Value = serde_json::from_slice(&std::fs::read(dir.join("config.json"))?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let quant = config.get("quantization_config").map(|q| {
        let method = s(q.get("quant_method")).unwrap_or_else(|| "quantized".into());
        match q.get("bits").and_then(Value::as_u64) {
            Some(b) => format!("{method} {b}-bit"),
            None => method,
        }
    });
    let weights_bytes = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(HfFacts {
        quantization: quant.or_else(|| s(config.get("torch_dtype")).or(s(config.get("dtype")))),
        context_length: config
            .get("max_position_embeddings")
            .and_then(Value::as_u64),
        family: s(config.get("model_type")),
        weights_bytes,
    })
}

/// Local model files named in a launch command: `.gguf` files and directories holding a
/// `config.json`, that exist on this machine.
pub fn local_models(cmd: &[String], cwd: Option<&Path>) -> Vec<PathBuf> {
    cmd.iter()
        .map(|a| match cwd {
            Some(c) if Path::new(a).is_relative() => c.join(a),
            _ => PathBuf::from(a),
        })
        .filter(|p| {
            (p.extension().is_some_and(|x| x == "gguf") && p.is_file())
                || (p.is_dir() && p.join("config.json").is_file())
        })
        .collect()
}

/// Fill what the server did not state from the local file at `path`, noting the source.
pub fn fill_from_file(info: &mut ModelInfo, path: &Path) {
    let src = path.display().to_string();
    if path.is_dir() {
        let Ok(f) = read_hf_dir(path) else { return };
        info.quantization = info.quantization.take().or(f.quantization);
        info.context_length = info.context_length.or(f.context_length);
        info.family = info.family.take().or(f.family);
        if info.weights_bytes.is_none() && f.weights_bytes > 0 {
            info.weights_bytes = Some(f.weights_bytes);
        }
        info.sources.push(format!("config.json:{src}"));
    } else {
        let Ok(f) = read_gguf(path) else { return };
        info.quantization = info.quantization.take().or(f.file_type);
        info.context_length = info.context_length.or(f.context_length);
        info.family = info.family.take().or(f.architecture);
        info.parameter_size = info.parameter_size.take().or(f.size_label);
        if info.parameter_count.is_none() && f.parameter_count > 0 {
            info.parameter_count = Some(f.parameter_count);
        }
        info.weights_bytes = info.weights_bytes.or(Some(f.file_bytes));
        info.sources.push(format!("gguf:{src}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn kv_str(out: &mut Vec<u8>, k: &str, v: &str) {
        out.extend((k.len() as u64).to_le_bytes());
        out.extend(k.as_bytes());
        out.extend(8u32.to_le_bytes());
        out.extend((v.len() as u64).to_le_bytes());
        out.extend(v.as_bytes());
    }

    fn kv_u32(out: &mut Vec<u8>, k: &str, v: u32) {
        out.extend((k.len() as u64).to_le_bytes());
        out.extend(k.as_bytes());
        out.extend(4u32.to_le_bytes());
        out.extend(v.to_le_bytes());
    }

    #[test]
    fn reads_a_handmade_header() {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(2u64.to_le_bytes()); // tensors
        b.extend(5u64.to_le_bytes()); // kvs
        kv_str(&mut b, "general.architecture", "llama");
        kv_u32(&mut b, "general.file_type", 15);
        kv_u32(&mut b, "llama.context_length", 4096);
        // An array of strings, skipped.
        b.extend(14u64.to_le_bytes());
        b.extend(b"tokenizer.list");
        b.extend(9u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        for s in ["a", "bc"] {
            b.extend((s.len() as u64).to_le_bytes());
            b.extend(s.as_bytes());
        }
        kv_str(&mut b, "general.size_label", "7B");
        for (name, dims) in [("w", vec![4u64, 8]), ("b", vec![8])] {
            b.extend((name.len() as u64).to_le_bytes());
            b.extend(name.as_bytes());
            b.extend((dims.len() as u32).to_le_bytes());
            dims.iter().for_each(|d| b.extend(d.to_le_bytes()));
            b.extend(0u32.to_le_bytes());
            b.extend(0u64.to_le_bytes());
        }
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&b).unwrap();
        let g = read_gguf(f.path()).unwrap();
        assert_eq!(g.architecture.as_deref(), Some("llama"));
        assert_eq!(g.file_type.as_deref(), Some("Q4_K_M"));
        assert_eq!(g.context_length, Some(4096));
        assert_eq!(g.size_label.as_deref(), Some("7B"));
        assert_eq!(g.parameter_count, 40);
        assert_eq!(g.file_bytes, b.len() as u64);
        let mut short = tempfile::NamedTempFile::new().unwrap();
        short.write_all(&b[..40]).unwrap();
        assert!(read_gguf(short.path()).is_err());
    }

    #[test]
    fn reads_a_hf_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("config.json"),
            r#"{"model_type":"qwen2","max_position_embeddings":32768,"torch_dtype":"float16",
                "quantization_config":{"quant_method":"awq","bits":4}}"#,
        )
        .unwrap();
        std::fs::write(d.path().join("model.safetensors"), [0u8; 100]).unwrap();
        let f = read_hf_dir(d.path()).unwrap();
        assert_eq!(f.quantization.as_deref(), Some("awq 4-bit"));
        assert_eq!((f.context_length, f.weights_bytes), (Some(32768), 100));
        let args = vec!["vllm".into(), d.path().display().to_string()];
        assert_eq!(local_models(&args, None), vec![d.path().to_path_buf()]);
    }
}

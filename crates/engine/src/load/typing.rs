//! Simulated developers typing in an editor, the schedule of the IDE-autocomplete workload
//! (pure and seeded: the same seed gives the same keystrokes). A developer opens a file of the
//! corpus at a random line, takes out the next few lines — the code about to be written — and
//! types them back character by character, with gaps drawn from a gamma distribution around
//! the typing speed and a think pause now and then; the code after the block is the suffix
//! the editor sends. After each keystroke the editor waits for the debounce; a keystroke
//! inside it means no request, and a keystroke while a request is in flight supersedes it
//! (the client drops the stream). [`plan`] turns keystrokes into requests with the time each
//! one is superseded, so a mock's injected latency gives the exact number cancelled.

use crate::fim::{Editor, Fim, llama_vscode};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp, Gamma};
use std::sync::Arc;
use std::time::Duration;

/// How a simulated developer types.
#[derive(Debug, Clone, PartialEq)]
pub struct Typing {
    /// Mean typing speed, characters per second.
    pub chars_per_s: f64,
    /// Coefficient of variation of the gaps between keystrokes.
    pub gap_cv: f64,
    /// Chance of a think pause after a line is finished.
    pub pause_chance: f64,
    /// Mean think pause, s (exponential).
    pub pause_s: f64,
    /// Lines written in one go before the developer moves elsewhere.
    pub block_lines: usize,
    /// Quiet time after a keystroke before a completion is requested, s.
    pub debounce_s: f64,
    /// Characters of code before the cursor sent (the prefix window).
    pub prefix_chars: usize,
    /// Characters of code after the block sent (the suffix window).
    pub suffix_chars: usize,
    /// Whose requests: the sliding window above, or an editor's own windows and context
    /// (`None`: the workload's default — the window, or llama.vscode in a capacity search).
    pub editor: Option<Editor>,
}

impl Default for Typing {
    /// About 6 characters a second, a pause of 2 s after one line in three, 150 ms debounce,
    /// windows of about 1,500 and 500 tokens at 3.5 characters a token.
    fn default() -> Self {
        Typing {
            chars_per_s: 6.0,
            gap_cv: 0.5,
            pause_chance: 0.33,
            pause_s: 2.0,
            block_lines: 4,
            debounce_s: 0.150,
            prefix_chars: 5_250,
            suffix_chars: 1_750,
            editor: None,
        }
    }
}

/// One keystroke: when, and the editor's text around the cursor right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Keystroke {
    /// Time since the developer started.
    pub at: Duration,
    /// Corpus file.
    pub file: usize,
    /// The prefix and suffix windows around the cursor.
    pub fim: Fim,
}

/// One completion request the editor sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// The keystroke it answers (index into the keystrokes).
    pub key: usize,
    /// When it is sent: the keystroke plus the debounce.
    pub send_at: Duration,
    /// When the next keystroke supersedes it, if one comes.
    pub superseded_at: Option<Duration>,
}

/// The last `n` characters of `s` (at a character boundary).
fn tail(s: &str, n: usize) -> &str {
    let skip = s.chars().count().saturating_sub(n);
    s.char_indices().nth(skip).map_or("", |(i, _)| &s[i..])
}

/// The first `n` characters of `s`.
fn head(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Keystrokes of developer `developer` over `duration`, typing through `files` (each a text;
/// files without a line to write are skipped). Empty when no file has any.
pub fn keystrokes(
    files: &[String],
    t: &Typing,
    seed: u64,
    developer: u64,
    duration: Duration,
) -> Vec<Keystroke> {
    let usable: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].lines().any(|l| !l.trim().is_empty()))
        .collect();
    if usable.is_empty() || t.chars_per_s <= 0.0 {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed ^ developer.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let editor = t.editor.unwrap_or_default();
    let mean = 1.0 / t.chars_per_s;
    let shape = 1.0 / (t.gap_cv * t.gap_cv).max(1e-6);
    let gap = Gamma::new(shape, mean / shape).expect("positive shape and scale");
    let pause = Exp::new(1.0 / t.pause_s.max(1e-6)).expect("positive rate");
    let mut now = 0.0f64;
    let mut out = Vec::new();
    // llama.vscode's ring of extra context: chunks of the places visited.
    let mut ring: Vec<(String, String)> = Vec::new();
    let mut extra: Arc<[(String, String)]> = Arc::from([]);
    let mut left: Option<(usize, usize)> = None;
    while now < duration.as_secs_f64() {
        let file = usable[rng.random_range(0..usable.len())];
        let text = &files[file];
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&i| i < text.len())
            .collect();
        let start = starts[rng.random_range(0..starts.len())];
        if editor == Editor::LlamaVscode {
            let line = text[..start].matches('\n').count();
            for (f, y) in left.into_iter().chain([(file, line)]) {
                if let Some(c) = pick_chunk(&files[f], y, &mut rng) {
                    let chunk = (format!("file{f}.py"), c);
                    if !ring.contains(&chunk) {
                        ring.push(chunk);
                        if ring.len() > llama_vscode::RING_CHUNKS {
                            ring.remove(0);
                        }
                    }
                }
            }
            extra = ring.clone().into();
            left = Some((file, line));
        }
        // The block: the next `block_lines` lines from `start`.
        let end = text[start..]
            .match_indices('\n')
            .nth(t.block_lines.saturating_sub(1))
            .map_or(text.len(), |(i, _)| start + i + 1);
        let (before, block, after) = (&text[..start], &text[start..end], &text[end..]);
        let suffix = head(after, t.suffix_chars).to_string();
        // llama.vscode: the rest of the cursor's line (nothing: the block is whole lines),
        // then up to 64 lines, each line ended.
        let vscode_suffix: String = std::iter::once("")
            .chain(after.lines().take(llama_vscode::N_SUFFIX))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut typed = String::new();
        for ch in block.chars() {
            now += gap.sample(&mut rng);
            if now >= duration.as_secs_f64() {
                break;
            }
            typed.push(ch);
            let prefix = format!("{before}{typed}");
            let fim = match editor {
                Editor::Window => Fim {
                    prefix: tail(&prefix, t.prefix_chars).to_string(),
                    suffix: suffix.clone(),
                    ..Fim::default()
                },
                Editor::LlamaVscode => {
                    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
                    let lines = last_lines(&prefix[..line_start], llama_vscode::N_PREFIX);
                    Fim {
                        line_start: lines.len(),
                        prefix: format!("{lines}{}", &prefix[line_start..]),
                        suffix: vscode_suffix.clone(),
                        extra: extra.clone(),
                        editor: Editor::LlamaVscode,
                    }
                }
            };
            out.push(Keystroke {
                at: Duration::from_secs_f64(now),
                file,
                fim,
            });
            if ch == '\n' && rng.random_bool(t.pause_chance.clamp(0.0, 1.0)) {
                now += pause.sample(&mut rng);
            }
        }
        // Moving to another place takes a think pause too.
        now += pause.sample(&mut rng);
    }
    out
}

/// The last `n` lines of `text` (whole lines, each ended by its newline).
fn last_lines(text: &str, n: usize) -> &str {
    let mut count = 0;
    for (i, _) in text.rmatch_indices('\n') {
        if i + 1 == text.len() {
            continue;
        }
        count += 1;
        if count == n {
            return &text[i + 1..];
        }
    }
    text
}

/// llama.vscode's `pickChunk` of the ±32 lines around line `y` of `text`: under 3 lines
/// nothing, up to 62 whole, longer a random slice of 32 lines.
fn pick_chunk(text: &str, y: usize, rng: &mut StdRng) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let span = llama_vscode::CHUNK_LINES;
    let around = &lines[y.saturating_sub(span).min(lines.len())..(y + span).min(lines.len())];
    if around.len() < 3 {
        return None;
    }
    let pick = if around.len() <= 2 * span - 2 {
        around
    } else {
        let l0 = rng.random_range(0..=around.len() - span);
        &around[l0..l0 + span]
    };
    Some(pick.iter().map(|l| format!("{l}\n")).collect())
}

/// The requests `keys` lead to with a debounce of `debounce`: one after every keystroke
/// followed by at least `debounce` of quiet, superseded by the next keystroke.
pub fn plan(keys: &[Keystroke], debounce: Duration) -> Vec<Planned> {
    keys.iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let next = keys.get(i + 1).map(|n| n.at);
            let send_at = k.at + debounce;
            if next.is_some_and(|n| n <= send_at) {
                return None;
            }
            Some(Planned {
                key: i,
                send_at,
                superseded_at: next,
            })
        })
        .collect()
}

/// How many of `planned` are cancelled when every request takes `latency` from send to its
/// last token: those whose next keystroke comes first.
pub fn cancelled_with(planned: &[Planned], latency: Duration) -> usize {
    planned
        .iter()
        .filter(|p| p.superseded_at.is_some_and(|s| s < p.send_at + latency))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        vec![
            "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef median(xs):\n    s = sorted(xs)\n    n = len(s)\n    return s[n // 2]\n".into(),
            "\n\n".into(),
            "import os\n\nPATH = os.getcwd()\nprint(PATH)\n".into(),
        ]
    }

    #[test]
    fn llama_vscode_sends_whole_lines_the_cursor_line_apart_and_chunks_of_the_places_visited() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\n", 5), "a\nb\n");
        let long: String = (0..300).map(|i| format!("x{i} = {i}\n")).collect();
        let files = vec![long.clone(), corpus()[0].clone()];
        let t = Typing {
            editor: Some(Editor::LlamaVscode),
            ..Typing::default()
        };
        let keys = keystrokes(&files, &t, 5, 0, Duration::from_secs(60));
        assert!(keys.len() > 50);
        for k in &keys {
            let f = &k.fim;
            assert_eq!(f.editor, Editor::LlamaVscode);
            let (before, line) = f.prefix.split_at(f.line_start);
            assert!(before.is_empty() || before.ends_with('\n'));
            assert!(!line.contains('\n'), "the cursor's line only: {line:?}");
            assert!(before.lines().count() <= 256);
            assert!(f.suffix.starts_with('\n') && f.suffix.lines().count() <= 65);
            assert!(!f.extra.is_empty() && f.extra.len() <= 16);
            assert!(
                f.extra
                    .iter()
                    .all(|(_, c)| (3..=62).contains(&c.lines().count()))
            );
        }
        // Deep in the long file the prefix is 256 lines exactly.
        assert!(
            keys.iter()
                .any(|k| k.fim.prefix[..k.fim.line_start].lines().count() == 256),
            "never 256 lines before the cursor"
        );
    }

    #[test]
    fn the_same_seed_types_the_same_keystrokes_and_another_does_not() {
        let t = Typing::default();
        let d = Duration::from_secs(30);
        let a = keystrokes(&corpus(), &t, 7, 0, d);
        assert!(a.len() > 50, "{} keystrokes in 30 s", a.len());
        assert_eq!(a, keystrokes(&corpus(), &t, 7, 0, d));
        assert_ne!(a, keystrokes(&corpus(), &t, 8, 0, d));
        assert_ne!(
            a,
            keystrokes(&corpus(), &t, 7, 1, d),
            "each developer types apart"
        );
        assert!(
            a.iter().all(|k| k.file != 1),
            "a file with no code is never opened"
        );
        assert!(a.windows(2).all(|w| w[0].at < w[1].at));
        assert!(a.last().unwrap().at < d);
    }

    #[test]
    fn the_cursor_moves_one_character_at_a_time_with_the_rest_of_the_file_after_the_block() {
        let t = Typing {
            pause_chance: 0.0,
            ..Typing::default()
        };
        let keys = keystrokes(&corpus(), &t, 3, 0, Duration::from_secs(5));
        let mut checked = 0;
        for w in keys.windows(2) {
            let (a, b) = (&w[0].fim, &w[1].fim);
            if w[0].file == w[1].file && a.suffix == b.suffix {
                assert_eq!(b.prefix.chars().count(), a.prefix.chars().count() + 1);
                assert!(b.prefix.starts_with(&a.prefix));
                checked += 1;
            }
        }
        assert!(
            checked >= 10,
            "only {checked} consecutive keystrokes compared"
        );
        let text = &corpus()[keys[0].file];
        assert!(text.contains(&keys[0].fim.suffix));
        assert!(text.contains(&keys[0].fim.prefix));
    }

    #[test]
    fn windows_are_bounded_at_character_boundaries() {
        let files = vec![format!("# é\n{}\n", "x = 'ü'\n".repeat(400))];
        let t = Typing {
            prefix_chars: 10,
            suffix_chars: 7,
            ..Typing::default()
        };
        for k in keystrokes(&files, &t, 1, 0, Duration::from_secs(5)) {
            assert!(k.fim.prefix.chars().count() <= 10 && k.fim.suffix.chars().count() <= 7);
        }
    }

    fn key(ms: u64) -> Keystroke {
        Keystroke {
            at: Duration::from_millis(ms),
            file: 0,
            fim: Fim::default(),
        }
    }

    #[test]
    fn the_debounce_decides_what_is_sent_and_latency_what_is_cancelled() {
        // Keystrokes at 0, 100 (inside the debounce: no request for 0), 400, 1000, 1100.
        let keys = [key(0), key(100), key(400), key(1000), key(1100)].to_vec();
        let p = plan(&keys, Duration::from_millis(150));
        let sent: Vec<(usize, u64)> = p
            .iter()
            .map(|x| (x.key, x.send_at.as_millis() as u64))
            .collect();
        assert_eq!(sent, vec![(1, 250), (2, 550), (4, 1250)]);
        assert_eq!(p[0].superseded_at, Some(Duration::from_millis(400)));
        assert_eq!(p[2].superseded_at, None);
        // 100 ms per answer: none is overtaken; 200 ms: the one sent at 250 (next key at 400);
        // 500 ms: also the one sent at 550 (next at 1000).
        assert_eq!(cancelled_with(&p, Duration::from_millis(100)), 0);
        assert_eq!(cancelled_with(&p, Duration::from_millis(200)), 1);
        assert_eq!(cancelled_with(&p, Duration::from_millis(500)), 2);
    }

    #[test]
    fn an_empty_corpus_types_nothing() {
        assert!(
            keystrokes(
                &["\n".into()],
                &Typing::default(),
                1,
                0,
                Duration::from_secs(9)
            )
            .is_empty()
        );
        assert!(keystrokes(&[], &Typing::default(), 1, 0, Duration::from_secs(9)).is_empty());
    }
}

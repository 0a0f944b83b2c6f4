//! Charts as inline SVG, built in one place for the documents' chart groups ([`super::charts`]): line charts (CDFs, values by
//! concurrency, values over time) and bar charts. Plain SVG 1.1 with no script: it renders
//! offline and prints.

use std::fmt::Write;

/// Series colours (colour-blind-safe Okabe–Ito palette).
const COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];
const W: f64 = 560.0;
const H: f64 = 300.0;
const PAD_L: f64 = 64.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 34.0;
const PAD_B: f64 = 64.0;

/// XML-escape text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Round tick positions covering `lo..=hi`: about five steps of 1, 2, 2.5 or 5 × 10^k, starting
/// and ending on a multiple of the step (a share axis 0..1 gets 0, 0.25, 0.5, 0.75, 1).
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut k = 0.0;
    loop {
        let t = first + k * step;
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        if t >= hi - step * 1e-9 {
            break;
        }
        k += 1.0;
    }
    out
}

/// A tick label with as many decimals as the step needs (0.25 → 2, 0.5 → 1, 20 → 0).
fn label(v: f64, step: f64) -> String {
    let decimals = (0..=6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6) as usize;
    format!("{v:.decimals$}")
}

/// A bar's value, rounded like the tables.
fn nice(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// One named series of (x, y) points.
pub struct Series<'a> {
    /// Legend name.
    pub name: &'a str,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
}

fn frame(o: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}"><rect width="{W}" height="{H}" fill="white"/><text x="{cx}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{t}</text><text x="{cx}" y="{xl}" text-anchor="middle" font-size="12">{x}</text><text transform="translate(14 {cy}) rotate(-90)" text-anchor="middle" font-size="12">{y}</text>"#,
        t = esc(title),
        cx = W / 2.0,
        xl = H - 8.0,
        cy = (PAD_T + H - PAD_B) / 2.0,
        x = esc(x_label),
        y = esc(y_label),
    );
}

fn legend(o: &mut String, names: &[&str]) {
    for (i, n) in names.iter().enumerate() {
        let x = PAD_L + (i as f64) * 130.0;
        let y = H - 30.0;
        let _ = write!(
            o,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            y - 10.0,
            COLOURS[i % COLOURS.len()],
            x + 16.0,
            y,
            esc(n)
        );
    }
}

/// How a line chart is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineOpts<'a> {
    /// A log-2 x axis (concurrency), ticks at the powers of two.
    pub log2_x: bool,
    /// A dot at every point (measured steps).
    pub markers: bool,
    /// A labelled point to mark (the saturation step).
    pub mark: Option<(f64, f64, &'a str)>,
    /// Clip the x axis at the 99th percentile of the points when the largest is more than 3×
    /// it (a long latency tail), and say so in the title.
    pub clip_tail: bool,
    /// A labelled horizontal line (an objective), dashed; the y axis reaches it.
    pub hline: Option<(f64, &'a str)>,
}

/// A line chart; `None` when no series has two points.
pub fn lines(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Option<String> {
    lines_with(title, x_label, y_label, series, LineOpts::default())
}

/// A line chart drawn as `opts` says; `None` when no series has two points.
pub fn lines_with(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    opts: LineOpts<'_>,
) -> Option<String> {
    if !series.iter().any(|s| s.points.len() >= 2) {
        return None;
    }
    let finite = |(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!opts.log2_x || *x > 0.0);
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(finite)
        .collect();
    let fx = |x: f64| if opts.log2_x { x.log2() } else { x };
    let mut xs: Vec<f64> = pts.iter().map(|p| fx(p.0)).collect();
    xs.sort_by(f64::total_cmp);
    let (x_min, mut x_max) = (*xs.first()?, *xs.last()?);
    let mut title = title.to_string();
    if opts.clip_tail && xs.len() >= 20 {
        let p99 = xs[((xs.len() as f64 * 0.99).ceil() as usize).min(xs.len()) - 1];
        if x_max > 3.0 * p99 && p99 > x_min {
            title = format!(
                "{title} (tail beyond p99 {} not drawn)",
                label(p99, p99 / 100.0)
            );
            x_max = p99;
        }
    }
    let level = opts.hline.map(|h| h.0).filter(|y| y.is_finite());
    let y_max = pts
        .iter()
        .map(|p| p.1)
        .chain(level)
        .fold(f64::MIN, f64::max);
    let y_min = pts.iter().map(|p| p.1).chain(level).fold(0.0f64, f64::min);
    let xt = if opts.log2_x {
        let (a, b) = (x_min.floor(), x_max.ceil().max(x_min.floor() + 1.0));
        (a as i32..=b as i32).map(f64::from).collect()
    } else {
        ticks(x_min, if x_max > x_min { x_max } else { x_min + 1.0 })
    };
    let yt = ticks(y_min, if y_max > y_min { y_max } else { y_min + 1.0 });
    let (x0, x1) = (xt[0], *xt.last()?);
    let (y0, y1) = (yt[0], *yt.last()?);
    let sx = |x: f64| PAD_L + (fx(x).min(x1) - x0) / (x1 - x0) * (W - PAD_L - PAD_R);
    let sy = |y: f64| H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B);
    let mut o = String::new();
    frame(&mut o, &title, x_label, y_label);
    let ystep = yt.get(1).map_or(1.0, |t| t - yt[0]);
    for &yv in &yt {
        let _ = write!(
            o,
            r##"<line x1="{PAD_L}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" font-size="10">{}</text>"##,
            W - PAD_R,
            PAD_L - 4.0,
            sy(yv) + 3.0,
            label(yv, ystep),
            y = sy(yv),
        );
    }
    let xstep = xt.get(1).map_or(1.0, |t| t - xt[0]);
    for &xv in &xt {
        let (at, text) = if opts.log2_x {
            let v = 2f64.powf(xv);
            (
                PAD_L + (xv - x0) / (x1 - x0) * (W - PAD_L - PAD_R),
                label(v, 1.0),
            )
        } else {
            (
                PAD_L + (xv - x0) / (x1 - x0) * (W - PAD_L - PAD_R),
                label(xv, xstep),
            )
        };
        let _ = write!(
            o,
            r#"<text x="{at:.1}" y="{}" text-anchor="middle" font-size="10">{text}</text>"#,
            H - PAD_B + 14.0,
        );
    }
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let drawn: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(finite)
            .filter(|(x, _)| fx(*x) <= x1)
            .map(|(x, y)| (sx(x), sy(y)))
            .collect();
        let path: Vec<String> = drawn
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            o,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        if opts.markers {
            for (x, y) in &drawn {
                let _ = write!(
                    o,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
                );
            }
        }
    }
    if let Some((x, y, text)) = opts.mark.filter(|(x, y, _)| finite(&(*x, *y))) {
        let (cx, cy) = (sx(x), sy(y));
        let _ = write!(
            o,
            r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="6" fill="none" stroke="#000" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"##,
            cx + 8.0,
            cy - 8.0,
            esc(text)
        );
    }
    if let Some((y, text)) = opts.hline.filter(|h| h.0.is_finite()) {
        let _ = write!(
            o,
            r##"<line x1="{PAD_L}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#c00" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" text-anchor="end" font-size="10" fill="#c00">{}</text>"##,
            W - PAD_R,
            W - PAD_R,
            sy(y) - 4.0,
            esc(text),
            y = sy(y),
        );
    }
    legend(&mut o, &series.iter().map(|s| s.name).collect::<Vec<_>>());
    o.push_str("</svg>");
    Some(o)
}

/// A bar chart, one bar per name; `None` when no value is known.
pub fn bars(title: &str, unit: &str, values: &[(&str, Option<f64>)]) -> Option<String> {
    let max = values
        .iter()
        .filter_map(|(_, v)| *v)
        .fold(f64::MIN, f64::max);
    if max == f64::MIN {
        return None;
    }
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let n = values.len().max(1) as f64;
    let slot = (W - PAD_L - PAD_R) / n;
    let mut o = String::new();
    frame(&mut o, title, "", unit);
    let base = H - PAD_B;
    for (i, (name, v)) in values.iter().enumerate() {
        let x = PAD_L + slot * i as f64 + slot * 0.2;
        let w = slot * 0.6;
        match v {
            Some(v) => {
                let h = (v.max(0.0) / top) * (H - PAD_T - PAD_B);
                let _ = write!(
                    o,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
                    base - h,
                    COLOURS[i % COLOURS.len()],
                    x + w / 2.0,
                    base - h - 4.0,
                    nice(*v)
                );
            }
            None => {
                let _ = write!(
                    o,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">—</text>"#,
                    x + w / 2.0,
                    base - 4.0
                );
            }
        }
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
            x + w / 2.0,
            base + 16.0,
            esc(name)
        );
    }
    let _ = write!(
        o,
        r##"<line x1="{PAD_L}" x2="{}" y1="{base}" y2="{base}" stroke="#333"/>"##,
        W - PAD_R
    );
    o.push_str("</svg>");
    Some(o)
}

/// Empirical CDF points of samples (sorted), for [`lines`].
pub fn cdf(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, x)| (*x, (i + 1) as f64 / n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escape_text() {
        let s = [Series {
            name: "a<b",
            points: vec![(1.0, 1.0), (2.0, 3.0)],
        }];
        let svg = lines("T & U", "x", "y", &s).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("T &amp; U") && svg.contains("a&lt;b"));
        assert!(
            lines(
                "t",
                "x",
                "y",
                &[Series {
                    name: "one",
                    points: vec![(1.0, 1.0)]
                }]
            )
            .is_none()
        );
        let b = bars("B", "s", &[("x", Some(2.0)), ("y", None)]).unwrap();
        assert!(b.contains("<rect") && b.contains("—"));
        assert!(bars("B", "s", &[("x", None)]).is_none());
        assert_eq!(cdf(&[3.0, 1.0]), vec![(1.0, 0.5), (3.0, 1.0)]);
    }

    #[test]
    fn ticks_are_round_and_a_share_axis_ends_at_one() {
        let t = ticks(0.0, 1.0);
        assert_eq!(t, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let labels: Vec<String> = t.iter().map(|v| label(*v, 0.25)).collect();
        assert_eq!(labels, ["0.00", "0.25", "0.50", "0.75", "1.00"]);
        assert_eq!(ticks(0.0, 263.0), vec![0.0, 100.0, 200.0, 300.0]);
        assert_eq!(ticks(0.12, 0.93), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(label(0.4, 0.2), "0.4");
        // A CDF's y axis: 0 … 1, never 1.1.
        let cdf_svg = lines(
            "c",
            "s",
            "share",
            &[Series {
                name: "a",
                points: cdf(&[0.1, 0.2, 0.3]),
            }],
        )
        .unwrap();
        assert!(
            cdf_svg.contains(">1.00</text>") && !cdf_svg.contains(">1.1"),
            "{cdf_svg}"
        );
    }

    #[test]
    fn a_sweep_chart_has_a_log2_axis_markers_and_the_saturation_point() {
        let s = [Series {
            name: "vllm",
            points: vec![(1.0, 50.0), (2.0, 100.0), (4.0, 200.0), (8.0, 205.0)],
        }];
        let opts = LineOpts {
            log2_x: true,
            markers: true,
            mark: Some((4.0, 200.0, "saturation")),
            ..LineOpts::default()
        };
        let svg = lines_with("t", "concurrency", "tok/s", &s, opts).unwrap();
        for c in ["1", "2", "4", "8"] {
            assert!(svg.contains(&format!(">{c}</text>")), "tick {c}: {svg}");
        }
        assert_eq!(
            svg.matches("r=\"3\"").count(),
            4,
            "a marker per measured step"
        );
        assert!(svg.contains(">saturation</text>"));
    }

    #[test]
    fn an_objective_is_a_dashed_labelled_line_the_axis_reaches() {
        let s = [Series {
            name: "llamacpp",
            points: vec![(1.0, 0.1), (2.0, 0.2), (4.0, 0.3)],
        }];
        let opts = LineOpts {
            hline: Some((2.0, "objective 2 s")),
            ..LineOpts::default()
        };
        let svg = lines_with("chat: TTFT p90", "developers", "s", &s, opts).unwrap();
        assert!(svg.contains("stroke-dasharray") && svg.contains(">objective 2 s</text>"));
        // The y axis goes up to the objective though every point is far below it.
        assert!(
            svg.contains(">2</text>") || svg.contains(">2.0</text>"),
            "{svg}"
        );
        let plain = lines_with("t", "x", "y", &s, LineOpts::default()).unwrap();
        assert!(!plain.contains("stroke-dasharray"));
    }

    #[test]
    fn a_long_tail_is_clipped_and_said() {
        let mut v: Vec<f64> = (1..=99).map(|i| 1.0 + f64::from(i) / 100.0).collect();
        v.push(160.0);
        let s = [Series {
            name: "a",
            points: cdf(&v),
        }];
        let opts = LineOpts {
            clip_tail: true,
            ..LineOpts::default()
        };
        let svg = lines_with("E2E", "s", "share", &s, opts).unwrap();
        assert!(svg.contains("tail beyond p99"), "{svg}");
        assert!(
            !svg.contains(">160</text>") && !svg.contains(">150</text>"),
            "{svg}"
        );
    }
}

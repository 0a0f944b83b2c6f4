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

/// A line chart; `None` when no series has two points.
pub fn lines(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Option<String> {
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if !series.iter().any(|s| s.points.len() >= 2) {
        return None;
    }
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts
        .iter()
        .fold((0.0f64, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (x1, y1) = (
        if x1 > x0 { x1 } else { x0 + 1.0 },
        if y1 > y0 { y1 * 1.05 } else { y0 + 1.0 },
    );
    let sx = |x: f64| PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R);
    let sy = |y: f64| H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B);
    let mut o = String::new();
    frame(&mut o, title, x_label, y_label);
    for k in 0..=4 {
        let f = f64::from(k) / 4.0;
        let (xv, yv) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let _ = write!(
            o,
            r##"<line x1="{PAD_L}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" font-size="10">{}</text><text x="{x}" y="{}" text-anchor="middle" font-size="10">{}</text>"##,
            W - PAD_R,
            PAD_L - 4.0,
            sy(yv) + 3.0,
            nice(yv),
            H - PAD_B + 14.0,
            nice(xv),
            y = sy(yv),
            x = sx(xv),
        );
    }
    for (i, s) in series.iter().enumerate() {
        let path: Vec<String> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            o,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            COLOURS[i % COLOURS.len()],
            path.join(" ")
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
}

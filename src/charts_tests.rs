//! Tests of `charts`: every chart is parsed as XML and checked for the layout invariants (no two
//! texts overlap, no text crosses an axis, tick or marker line, all text on the canvas, no
//! non-finite number written), for realistic inputs with long labels and close markers and for
//! degenerate ones. Text boxes are computed from the parsed attributes with the same width
//! estimate the layout uses.

use super::*;

fn bn(v: f64) -> String {
    format!("£{v:.1}bn")
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn years(v: f64) -> String {
    format!("{v:.1} years")
}

/// splitmix64 (Steele, Lea & Flood, OOPSLA 2014): a fixed, dependency-free source of test data.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Approximately normal: the sum of twelve uniforms, centred.
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..12).map(|_| self.next_f64()).sum();
        mean + sd * (s - 6.0)
    }
}

fn sorted_normal(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix(seed);
    let mut v: Vec<f64> = (0..n).map(|_| rng.normal(mean, sd)).collect();
    v.sort_by(f64::total_cmp);
    v
}

// ---------------------------------------------------------------------------------------------
// Inspection of an emitted document

#[derive(Debug)]
struct TextBox {
    class: String,
    text: String,
    corners: [(f64, f64); 4],
}

#[derive(Debug)]
struct Segment {
    class: String,
    a: (f64, f64),
    b: (f64, f64),
}

struct Parsed {
    width: f64,
    height: f64,
    texts: Vec<TextBox>,
    segments: Vec<Segment>,
    /// (element name, class) of every element.
    elements: Vec<(String, String)>,
}

impl Parsed {
    fn count(&self, tag: &str, class: &str) -> usize {
        self.elements
            .iter()
            .filter(|(t, c)| t == tag && c.split(' ').any(|c| c == class))
            .count()
    }
    fn texts_of(&self, class: &str) -> Vec<&str> {
        self.texts
            .iter()
            .filter(|t| t.class == class)
            .map(|t| t.text.as_str())
            .collect()
    }
}

const NUMERIC: [&str; 13] = [
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "width",
    "height",
    "cx",
    "cy",
    "r",
    "font-size",
    "stroke-width",
];

fn number(s: &str) -> f64 {
    let v: f64 = s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"));
    assert!(v.is_finite(), "non-finite number {s:?}");
    v
}

/// Parse a chart, check what holds for every document, and collect its texts and lines.
fn inspect(svg: &str) -> Parsed {
    assert!(!svg.contains("NaN"), "NaN in output");
    assert!(!svg.contains("inf"), "inf in output");
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(root.attribute("font-family"), Some("sans-serif"));
    let width = number(root.attribute("width").expect("width"));
    let height = number(root.attribute("height").expect("height"));
    assert_eq!(
        root.attribute("viewBox"),
        Some(format!("0 0 {} {}", num(width), num(height)).as_str())
    );
    let first = root.first_element_child().expect("children");
    assert_eq!(first.tag_name().name(), "title", "<title> comes first");

    let mut texts = Vec::new();
    let mut segments = Vec::new();
    let mut elements = Vec::new();
    for node in root.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name().to_string();
        let class = node.attribute("class").unwrap_or("").to_string();
        for name in NUMERIC {
            if let Some(v) = node.attribute(name) {
                number(v);
            }
        }
        if let Some(points) = node.attribute("points") {
            for pair in points.split(' ') {
                let (x, y) = pair.split_once(',').expect("x,y");
                number(x);
                number(y);
            }
        }
        match tag.as_str() {
            "text" => {
                let x = number(node.attribute("x").unwrap());
                let y = number(node.attribute("y").unwrap());
                let size = number(
                    node.attribute("font-size")
                        .expect("font-size on every text"),
                );
                let anchor = match node.attribute("text-anchor") {
                    None | Some("start") => Anchor::Start,
                    Some("middle") => Anchor::Middle,
                    Some("end") => Anchor::End,
                    Some(other) => panic!("text-anchor {other}"),
                };
                let bold = node.attribute("font-weight") == Some("bold");
                let angle = match node.attribute("transform") {
                    None => 0.0,
                    Some(t) => {
                        let inner = t
                            .strip_prefix("rotate(")
                            .and_then(|t| t.strip_suffix(')'))
                            .expect("rotate(a x y)");
                        let parts: Vec<f64> = inner.split(' ').map(number).collect();
                        assert_eq!(parts.len(), 3);
                        assert_eq!((parts[1], parts[2]), (x, y), "rotation about the anchor");
                        parts[0]
                    }
                };
                let text = node.text().unwrap_or("").to_string();
                assert!(!text.is_empty(), "empty text element");
                let w = text_width(&text, size, bold);
                let corners = text_corners(x, y, w, size, anchor, angle);
                texts.push(TextBox {
                    class: class.clone(),
                    text,
                    corners,
                });
            }
            "line" => {
                let p = |n: &str| number(node.attribute(n).unwrap());
                segments.push(Segment {
                    class: class.clone(),
                    a: (p("x1"), p("y1")),
                    b: (p("x2"), p("y2")),
                });
            }
            _ => {}
        }
        elements.push((tag, class));
    }
    Parsed {
        width,
        height,
        texts,
        segments,
        elements,
    }
}

/// Whether two convex polygons (or segments) overlap by more than half a pixel, by the
/// separating axis theorem.
fn overlap(a: &[(f64, f64)], b: &[(f64, f64)]) -> bool {
    const TOL: f64 = 0.5;
    for poly in [a, b] {
        for i in 0..poly.len() {
            let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
            let (nx, ny) = (p.1 - q.1, q.0 - p.0);
            let len = nx.hypot(ny);
            if len < 1e-9 {
                continue;
            }
            let project = |pts: &[(f64, f64)]| {
                pts.iter()
                    .map(|&(x, y)| (x * nx + y * ny) / len)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                        (lo.min(v), hi.max(v))
                    })
            };
            let ((a0, a1), (b0, b1)) = (project(a), project(b));
            if a1 <= b0 + TOL || b1 <= a0 + TOL {
                return false;
            }
        }
    }
    true
}

/// The layout invariants: no two texts overlap, every text is on the canvas, and no text crosses
/// an axis, a tick, a marker line or the base line.
fn assert_layout(p: &Parsed) {
    for (i, a) in p.texts.iter().enumerate() {
        for (x, y) in a.corners {
            assert!(
                (-0.5..=p.width + 0.5).contains(&x) && (-0.5..=p.height + 0.5).contains(&y),
                "text {:?} ({}) leaves the {}×{} canvas: {:?}",
                a.text,
                a.class,
                p.width,
                p.height,
                a.corners
            );
        }
        for b in &p.texts[i + 1..] {
            assert!(
                !overlap(&a.corners, &b.corners),
                "texts overlap: {:?} ({}) {:?} and {:?} ({}) {:?}",
                a.text,
                a.class,
                a.corners,
                b.text,
                b.class,
                b.corners
            );
        }
        for s in &p.segments {
            if ["axis", "tick", "marker", "base"].contains(&s.class.as_str()) {
                assert!(
                    !overlap(&a.corners, &[s.a, s.b]),
                    "text {:?} ({}) crosses a {} line {:?}–{:?}",
                    a.text,
                    a.class,
                    s.class,
                    s.a,
                    s.b
                );
            }
        }
    }
}

fn check(svg: &str) -> Parsed {
    let p = inspect(svg);
    assert_layout(&p);
    p
}

fn is_no_data(svg: &str) -> bool {
    let p = check(svg);
    p.count("text", "no-data") == 1
}

// ---------------------------------------------------------------------------------------------
// The checker itself

#[test]
fn overlap_detects_rotated_and_axis_aligned_boxes() {
    let a = text_corners(100.0, 100.0, 50.0, 12.0, Anchor::Start, 0.0);
    let b = text_corners(140.0, 100.0, 50.0, 12.0, Anchor::Start, 0.0);
    let c = text_corners(160.0, 100.0, 50.0, 12.0, Anchor::Start, 0.0);
    assert!(overlap(&a, &b));
    assert!(!overlap(&a, &c));
    // Two labels slanted at −45° whose strips are 20 px apart (more than a 12.6 px line).
    let d = text_corners(100.0, 100.0, 80.0, 12.0, Anchor::End, -45.0);
    let e = text_corners(
        100.0 + 20.0 / std::f64::consts::FRAC_1_SQRT_2,
        100.0,
        80.0,
        12.0,
        Anchor::End,
        -45.0,
    );
    assert!(!overlap(&d, &e));
    let f = text_corners(110.0, 100.0, 80.0, 12.0, Anchor::End, -45.0);
    assert!(overlap(&d, &f));
    // A vertical line through a text box, and one beside it.
    assert!(overlap(&a, &[(120.0, 0.0), (120.0, 200.0)]));
    assert!(!overlap(&a, &[(97.0, 0.0), (97.0, 200.0)]));
}

#[test]
fn rotated_minus_90_box_is_upright() {
    let c = text_corners(50.0, 200.0, 100.0, 10.0, Anchor::Middle, -90.0);
    let xs: Vec<f64> = c.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = c.iter().map(|p| p.1).collect();
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::MAX, f64::min),
        xs.iter().cloned().fold(f64::MIN, f64::max),
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f64::MAX, f64::min),
        ys.iter().cloned().fold(f64::MIN, f64::max),
    );
    assert!(
        (x0 - (50.0 - ASCENT * 10.0)).abs() < 1e-9 && (x1 - (50.0 + DESCENT * 10.0)).abs() < 1e-9
    );
    assert!((y0 - 150.0).abs() < 1e-9 && (y1 - 250.0).abs() < 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Histogram with CDF

fn published_markers() -> Vec<(String, f64)> {
    vec![
        ("published prudent £9.4bn".to_string(), 9.4),
        ("published base £20.6bn".to_string(), 20.6),
        ("mean £14.9bn".to_string(), 14.93),
        ("median £15.0bn".to_string(), 15.02),
        ("P5 £5.1bn".to_string(), 5.1),
        ("P95 £24.9bn".to_string(), 24.9),
    ]
}

#[test]
fn histogram_realistic() {
    let v = sorted_normal(20_000, 15.0, 6.0, 1);
    let svg = histogram_cdf(
        "Five-year net benefit, all themes: 20,000 draws",
        "Five-year net benefit (NPV, 2012-13 prices)",
        &v,
        &published_markers(),
        &bn,
    );
    let p = check(&svg);
    let bars = p.count("rect", "bar");
    assert!((10..=80).contains(&bars), "{bars} bars");
    // The published markers, the mean and the median.
    assert_eq!(p.count("line", "marker"), 8);
    let labels = p.texts_of("marker-label");
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        labels.contains(&format!("mean {}", bn(mean)).as_str()),
        "{labels:?}"
    );
    assert!(labels.contains(&format!("median {}", bn(quantile(&v, 0.5))).as_str()));
    assert_eq!(p.count("rect", "band"), 1);
    let legend = p.texts_of("legend");
    let band = format!(
        "P5 to P95 ({} to {})",
        bn(quantile(&v, 0.05)),
        bn(quantile(&v, 0.95))
    );
    assert!(legend.contains(&band.as_str()), "{legend:?}");
    assert_eq!(p.count("polyline", "cdf"), 1);
    let labels = p.texts_of("marker-label");
    for (m, _) in published_markers() {
        assert!(labels.contains(&m.as_str()), "marker label {m} missing");
    }
    // Tick labels use the caller's formatter.
    assert!(
        p.texts_of("tick-label")
            .iter()
            .any(|t| t.starts_with('£') && t.ends_with("bn"))
    );
    assert!(p.texts_of("tick-label").contains(&"100%"));
    assert_eq!(
        svg,
        histogram_cdf(
            "Five-year net benefit, all themes: 20,000 draws",
            "Five-year net benefit (NPV, 2012-13 prices)",
            &v,
            &published_markers(),
            &bn,
        ),
        "deterministic"
    );
}

#[test]
fn histogram_axis_shows_the_body_and_notes_the_tails() {
    // A normal body with a long left tail: 1% of the draws far below it.
    let mut v = sorted_normal(9_900, 0.0, 1.0, 5);
    v.extend((0..100).map(|i| -50.0 - i as f64));
    v.sort_by(f64::total_cmp);
    let none: [(&str, f64); 0] = [];
    let p = check(&histogram_cdf("Tail", "NPV", &v, &none, &bn));
    let ticks: Vec<f64> = p
        .texts_of("tick-label")
        .iter()
        .filter_map(|t| t.strip_prefix('£').and_then(|t| t.strip_suffix("bn")))
        .map(|t| t.replace('−', "-").parse().unwrap())
        .collect();
    let lowest = ticks.iter().copied().fold(f64::INFINITY, f64::min);
    // P0.5 lies inside the tail (about -100); the axis stops there, not at the minimum, -149.
    assert!(
        lowest > -120.0 && lowest <= quantile(&v, 0.005),
        "{ticks:?}"
    );
    let note = p.texts_of("note").join(" ");
    assert!(
        note.starts_with("Bars show P0.5 to P99.5: 0.5% of draws lie below"),
        "{note}"
    );
    assert!(note.contains("minimum £-149.0bn"), "{note}");
    assert!(note.contains("above (maximum"), "{note}");
    // No tails beyond the axis: no note.
    let p = check(&histogram_cdf("Two", "x", &[1.0, 2.0], &none, &bn));
    assert!(p.texts_of("note").is_empty());
}

#[test]
fn histogram_close_markers_are_staggered() {
    let v = sorted_normal(5_000, 10.0, 3.0, 2);
    let markers = [
        ("published prudent £9.4bn", 9.4),
        ("simulated median £9.5bn", 9.45),
        ("simulated mean £9.5bn", 9.5),
        ("break-even £9.6bn", 9.55),
        ("a marker far right with a long label £21.0bn", 21.0),
        ("far left £-1.0bn", -1.0),
    ];
    let svg = histogram_cdf("Close markers", "NPV", &v, &markers, &bn);
    let p = check(&svg);
    // With the mean and the median.
    assert_eq!(p.texts_of("marker-label").len(), markers.len() + 2);
    // Four markers within a few pixels need four rows.
    let ys: Vec<i64> = p
        .texts
        .iter()
        .filter(|t| t.class == "marker-label")
        .map(|t| t.corners[0].1.round() as i64)
        .collect();
    let mut rows = ys.clone();
    rows.sort();
    rows.dedup();
    assert!(rows.len() >= 4, "rows {rows:?}");
}

#[test]
fn histogram_markers_at_canvas_edges_and_many() {
    let v = sorted_normal(2_000, 0.0, 1.0, 3);
    let markers: Vec<(String, f64)> = (0..12)
        .map(|i| {
            (
                format!("marker number {i} at {:.2}", -3.0 + 0.5 * i as f64),
                -3.0 + 0.5 * i as f64,
            )
        })
        .collect();
    let p = check(&histogram_cdf("Many markers", "NPV", &v, &markers, &bn));
    assert_eq!(p.texts_of("marker-label").len(), 14);
}

#[test]
fn histogram_degenerate() {
    let none: [(&str, f64); 0] = [];
    assert!(is_no_data(&histogram_cdf("Empty", "x", &[], &none, &bn)));
    assert!(is_no_data(&histogram_cdf(
        "Not a number",
        "x",
        &[f64::NAN, f64::INFINITY],
        &none,
        &bn
    )));
    // All equal: one bar with every draw.
    let p = check(&histogram_cdf(
        "Equal",
        "x",
        &[2.5; 100],
        &[("base", 2.5)],
        &bn,
    ));
    assert_eq!(p.count("rect", "bar"), 1);
    assert_eq!(p.count("line", "marker"), 3);
    let p = check(&histogram_cdf("Zero", "x", &[0.0; 3], &none, &bn));
    assert_eq!(p.count("rect", "bar"), 1);
    let p = check(&histogram_cdf(
        "Single",
        "x",
        &[-3.2],
        &[("m", f64::NAN)],
        &bn,
    ));
    assert_eq!(p.count("rect", "bar"), 1);
    // The mean and the median only.
    assert_eq!(p.count("line", "marker"), 2);
    // Unsorted, with NaN and negative values.
    let v = [3.0, f64::NAN, -2.0, 1.0, f64::NEG_INFINITY, -7.5, 0.0, 4.0];
    let p = check(&histogram_cdf("Mixed", "x", &v, &[("zero", 0.0)], &bn));
    assert!(p.count("rect", "bar") >= 1);
    // Two values: a minimum of ten bins, two of them used.
    let p = check(&histogram_cdf("Two", "x", &[1.0, 2.0], &none, &bn));
    assert_eq!(p.count("rect", "bar"), 2);
    // Enormous spread.
    let p = check(&histogram_cdf("Wide", "x", &[-1e12, 0.0, 1e12], &none, &bn));
    assert!(p.count("rect", "bar") >= 2);
}

#[test]
fn freedman_diaconis_bin_counts() {
    let mut rng = SplitMix(2024);
    let mut v: Vec<f64> = (0..1000).map(|_| rng.next_f64()).collect();
    v.sort_by(f64::total_cmp);
    // IQR ≈ 0.5, h = 2·0.5/10 = 0.1: about ten bins.
    let k = Bins::freedman_diaconis(&v).counts.len();
    assert!((10..=11).contains(&k), "{k}");
    let mut big: Vec<f64> = (0..1_000_000).map(|_| rng.next_f64()).collect();
    big.sort_by(f64::total_cmp);
    assert_eq!(Bins::freedman_diaconis(&big).counts.len(), 80);
    // IQR zero with spread: Sturges, within the bounds.
    let mut spike = vec![1.0; 1000];
    spike[0] = 0.0;
    spike[999] = 2.0;
    spike.sort_by(f64::total_cmp);
    let b = Bins::freedman_diaconis(&spike);
    assert_eq!(b.counts.len(), 11);
    assert_eq!(b.counts.iter().sum::<usize>(), 1000);
    // The maximum lands in the last bin.
    assert_eq!(*b.counts.last().unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tornado

fn tornado_rows() -> Vec<(String, f64, f64)> {
    vec![
        ("Health and social care: benefit realisation rate relative to the pilots' business cases".into(), 11.2, 27.9),
        ("Work and skills: engagement rate".into(), 16.0, 23.1),
        ("Families with complex needs: cohort size".into(), 18.3, 22.0),
        ("Optimism bias on costs".into(), 21.5, 19.2),
        ("Discount rate".into(), 20.9, 20.2),
        ("Cashability of benefits (both ends above base)".into(), 20.8, 22.4),
        ("Delay (both ends below base)".into(), 19.9, 17.5),
        ("Annex: crime and justice".into(), f64::NAN, 21.3),
        ("A label so long that it cannot fit even on two lines of the label column, however it is wrapped, and must end with an ellipsis".into(), 19.0, 22.0),
    ]
}

#[test]
fn tornado_realistic() {
    let rows = tornado_rows();
    let svg = tornado(
        "What moves the five-year net benefit most",
        "Five-year net benefit",
        20.6,
        "All inputs at their medians",
        &rows,
        &bn,
    );
    let p = check(&svg);
    let finite_ends = rows
        .iter()
        .map(|r| r.1.is_finite() as usize + r.2.is_finite() as usize)
        .sum::<usize>();
    assert_eq!(p.count("rect", "bar"), finite_ends);
    assert_eq!(p.count("text", "value-label"), finite_ends);
    assert_eq!(p.count("line", "base"), 1);
    assert_eq!(
        p.texts_of("base-label"),
        ["All inputs at their medians: £20.6bn"]
    );
    let row_labels = p.texts_of("row-label");
    assert!(
        row_labels.iter().any(|l| l.ends_with('…')),
        "{row_labels:?}"
    );
    assert!(row_labels.contains(&"Discount rate"));
    for l in &row_labels {
        assert!(text_width(l, ROW_SIZE, false) <= MAX_ROW_LABEL_W + 1e-9);
    }
}

#[test]
fn tornado_degenerate() {
    let none: [(&str, f64, f64); 0] = [];
    assert!(is_no_data(&tornado("Empty", "x", 1.0, "Base", &none, &bn)));
    assert!(is_no_data(&tornado(
        "No base",
        "x",
        f64::NAN,
        "Base",
        &[("a", 1.0, 2.0)],
        &bn
    )));
    assert!(is_no_data(&tornado(
        "All missing",
        "x",
        1.0,
        "Base",
        &[("a", f64::NAN, f64::NAN)],
        &bn
    )));
    // No swing at all: zero-width bars, labels on both sides of the base line.
    let p = check(&tornado(
        "Flat",
        "x",
        0.0,
        "Base",
        &[("a", 0.0, 0.0), ("b", 0.0, 0.0)],
        &bn,
    ));
    assert_eq!(p.count("rect", "bar"), 4);
    // Negative values and one row.
    let p = check(&tornado(
        "Negative",
        "x",
        -3.0,
        "Base",
        &[("a", -5.5, -0.5)],
        &bn,
    ));
    assert_eq!(p.count("rect", "bar"), 2);
    // Short labels.
    check(&tornado(
        "Short",
        "x",
        5.0,
        "Base",
        &[("", 4.0, 6.0), ("b", 6.0, 4.0)],
        &pct,
    ));
}

// ---------------------------------------------------------------------------------------------
// Scatter plots and lines with bands

#[test]
fn scatter_realistic_and_degenerate() {
    let mut rng = SplitMix(11);
    let pts: Vec<(f64, f64)> = (0..2000)
        .map(|_| {
            let x = rng.next_f64();
            (x, 20.0 * x - 5.0 + rng.normal(0.0, 3.0))
        })
        .collect();
    let trend: Vec<(f64, f64)> = (0..25)
        .map(|k| (k as f64 / 24.0, 20.0 * k as f64 / 24.0 - 5.0))
        .collect();
    let svg = scatter(
        "health social care: realisation against the total NPV (Spearman 0.66)",
        "health social care: realisation",
        "Total five-year NPV (£bn)",
        &pts,
        &trend,
        (
            "Draws (2000 of 2000, evenly spaced)",
            "Trend: mean NPV in 25 slices along the input",
        ),
        &|x| format!("{x:.2}"),
        &bn,
    );
    let p = check(&svg);
    assert_eq!(p.count("circle", "point"), 2000);
    assert_eq!(p.count("polyline", "trend"), 1);
    assert_eq!(p.texts_of("legend").len(), 2);
    let none: [(f64, f64); 0] = [];
    let fmt = |x: f64| format!("{x}");
    assert!(is_no_data(&scatter(
        "E",
        "x",
        "y",
        &none,
        &none,
        ("a", "b"),
        &fmt,
        &fmt
    )));
    assert!(is_no_data(&scatter(
        "N",
        "x",
        "y",
        &[(f64::NAN, 1.0)],
        &none,
        ("a", "b"),
        &fmt,
        &fmt
    )));
    let p = check(&scatter(
        "One",
        "x",
        "y",
        &[(1.0, 1.0)],
        &none,
        ("a", "b"),
        &fmt,
        &fmt,
    ));
    assert_eq!(p.count("circle", "point"), 1);
    assert_eq!(p.count("polyline", "trend"), 0);
}

#[test]
fn band_lines_realistic_and_degenerate() {
    let series: Vec<BandSeries> = ["mean", "P5", "P50", "P95"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let pts = (1..=40)
                .map(|j| {
                    let m = 25_000.0 * j as f64;
                    let half = 30.0 / m.sqrt();
                    let y = 5.0 + 4.0 * k as f64;
                    (m, y, y - half, y + half)
                })
                .collect();
            (name.to_string(), pts)
        })
        .collect();
    let svg = band_lines(
        "Convergence: the total NPV's mean and percentiles as the draws accumulate",
        "Draws",
        "Total five-year NPV (£bn)",
        &series,
        "Bands are 95% confidence intervals: the mean ± 1.96 standard errors; a percentile p between the order statistics of ranks mp ± 1.96·√(mp(1−p)) of the first m draws (distribution-free).",
        &|x| format!("{x:.0}"),
        &bn,
    );
    let p = check(&svg);
    assert_eq!(p.count("polygon", "band"), 4);
    assert_eq!(p.count("polyline", "series"), 4);
    assert_eq!(p.texts_of("note").len(), 2, "the note wraps onto two lines");
    let fmt = |x: f64| format!("{x}");
    assert!(is_no_data(&band_lines("E", "x", "y", &[], "", &fmt, &fmt)));
    let nan: Vec<BandSeries> = vec![("a".into(), vec![(1.0, f64::NAN, 0.0, 1.0)])];
    assert!(is_no_data(&band_lines("N", "x", "y", &nan, "", &fmt, &fmt)));
    let one: Vec<BandSeries> = vec![("a".into(), vec![(1.0, 1.0, 0.5, 1.5)])];
    let p = check(&band_lines("One", "x", "y", &one, "", &fmt, &fmt));
    assert_eq!(p.count("polygon", "band"), 0);
}

// ---------------------------------------------------------------------------------------------
// Curves

#[test]
fn curves_realistic() {
    let leak: Vec<f64> = (0..=20).map(|i| i as f64 * 0.05).collect();
    let logistic = |x: f64, mid: f64| 1.0 / (1.0 + ((x - mid) * 12.0).exp());
    let series = vec![
        (
            "Health and social care".to_string(),
            leak.iter()
                .map(|&x| (x, logistic(x, 0.55)))
                .collect::<Vec<_>>(),
        ),
        (
            "Families with complex needs".to_string(),
            leak.iter().map(|&x| (x, logistic(x, 0.35))).collect(),
        ),
        (
            "Work and skills (with a gap in the data)".to_string(),
            leak.iter()
                .map(|&x| {
                    (
                        x,
                        if (0.4..0.6).contains(&x) {
                            f64::NAN
                        } else {
                            logistic(x, 0.45)
                        },
                    )
                })
                .collect(),
        ),
        (
            "Crime and justice (annex, indicative)".to_string(),
            Vec::new(),
        ),
    ];
    let svg = curves(
        "Probability that the five-year NPV is positive, by leakage",
        "Leakage of benefits",
        "P(NPV > 0)",
        &series,
        &pct,
        &pct,
    );
    let p = check(&svg);
    assert_eq!(
        p.count("polyline", "series"),
        4,
        "the gap splits one series in two"
    );
    assert_eq!(p.count("text", "legend"), 4);
    assert!(
        p.texts_of("legend")
            .contains(&"Crime and justice (annex, indicative) (no data)")
    );
    let finite = series
        .iter()
        .flat_map(|s| &s.1)
        .filter(|(_, y)| y.is_finite())
        .count();
    assert_eq!(p.count("circle", "point"), finite);

    // Delay in years, a long series without dots.
    let delay: Vec<(f64, f64)> = (0..=100)
        .map(|i| (i as f64 * 0.05, 1.0 - i as f64 / 100.0))
        .collect();
    let p = check(&curves(
        "P(NPV > 0) by delay",
        "Delay",
        "P(NPV > 0)",
        &[("All themes", delay)],
        &years,
        &pct,
    ));
    assert_eq!(p.count("circle", "point"), 0);
}

#[test]
fn curves_degenerate() {
    let none: [(&str, Vec<(f64, f64)>); 0] = [];
    assert!(is_no_data(&curves("Empty", "x", "y", &none, &pct, &pct)));
    assert!(is_no_data(&curves(
        "Not a number",
        "x",
        "y",
        &[("a", vec![(f64::NAN, 1.0)])],
        &pct,
        &pct
    )));
    let p = check(&curves(
        "One point",
        "x",
        "y",
        &[("a", vec![(0.5, 0.5)])],
        &pct,
        &pct,
    ));
    assert_eq!(p.count("circle", "point"), 1);
    check(&curves(
        "Constant",
        "x",
        "y",
        &[("a", vec![(0.0, 1.0), (1.0, 1.0)])],
        &pct,
        &pct,
    ));
    check(&curves(
        "Negative",
        "x",
        "y",
        &[("a", vec![(-5.0, -1e-3), (-1.0, -2e-3)])],
        &bn,
        &bn,
    ));
    // Many series: colours repeat with dashes, the legend wraps.
    let many: Vec<(String, Vec<(f64, f64)>)> = (0..15)
        .map(|i| {
            (
                format!("Series number {i} with a fairly long name"),
                vec![(0.0, i as f64), (1.0, i as f64 + 1.0)],
            )
        })
        .collect();
    let p = check(&curves("Many", "x", "y", &many, &pct, &bn));
    assert_eq!(p.count("text", "legend"), 15);
}

// ---------------------------------------------------------------------------------------------
// Grouped bars

#[test]
fn bars_realistic() {
    let themes: Vec<String> = [
        "Health and social care",
        "Families with complex needs",
        "Work and skills",
        "Crime and justice",
    ]
    .map(String::from)
    .to_vec();
    let series: Vec<(String, Vec<f64>)> = (1..=5)
        .map(|y| {
            (
                format!("Year {y}"),
                (0..4)
                    .map(|t| (0.15 * y as f64 + 0.05 * t as f64).min(1.0))
                    .collect(),
            )
        })
        .collect();
    let svg = bars(
        "Probability of breaking even by each year, per theme",
        "Theme",
        "Probability",
        &themes,
        &series,
        &pct,
    );
    let p = check(&svg);
    assert_eq!(p.count("rect", "bar"), 20);
    assert_eq!(p.count("text", "legend"), 5);
    assert!(p.count("text", "category-label") >= 4);
}

#[test]
fn bars_long_and_many_categories() {
    let long: Vec<String> = (0..8)
        .map(|i| format!("Department number {i} with an unusually long name for a category"))
        .collect();
    let series = vec![(
        "Probability".to_string(),
        (0..8).map(|i| i as f64 / 8.0 - 0.2).collect::<Vec<_>>(),
    )];
    let p = check(&bars("Long names", "Department", "P", &long, &series, &pct));
    assert_eq!(p.count("rect", "bar"), 8);
    assert_eq!(
        p.count("line", "zero"),
        1,
        "negative values get a zero line"
    );
    let many: Vec<String> = (0..60).map(|i| format!("Local authority {i}")).collect();
    let series: Vec<(String, Vec<f64>)> = (0..3)
        .map(|j| {
            (
                format!("S{j}"),
                (0..60).map(|i| (i * (j + 1)) as f64).collect(),
            )
        })
        .collect();
    let p = check(&bars(
        "Many categories",
        "Authority",
        "Value",
        &many,
        &series,
        &bn,
    ));
    assert!(p.width > WIDTH, "the chart grows wider");
    let title = p.texts.iter().find(|t| t.class == "title").unwrap();
    let centre = (title.corners[0].0 + title.corners[1].0) / 2.0;
    assert!(
        (centre - p.width / 2.0).abs() < 1.0,
        "title centred on the final width"
    );
    assert_eq!(p.count("rect", "bar"), 180);
}

#[test]
fn bars_degenerate() {
    let none: [String; 0] = [];
    let no_series: [(&str, Vec<f64>); 0] = [];
    assert!(is_no_data(&bars(
        "Empty", "x", "y", &none, &no_series, &pct
    )));
    assert!(is_no_data(&bars(
        "No series",
        "x",
        "y",
        &["a"],
        &no_series,
        &pct
    )));
    assert!(is_no_data(&bars(
        "Not a number",
        "x",
        "y",
        &["a"],
        &[("s", vec![f64::NAN])],
        &pct
    )));
    let p = check(&bars(
        "Zeros",
        "x",
        "y",
        &["a", "b"],
        &[("s", vec![0.0, 0.0])],
        &pct,
    ));
    assert_eq!(p.count("rect", "bar"), 2);
    // A short series leaves gaps; a long one is cut to the categories.
    let p = check(&bars(
        "Ragged",
        "x",
        "y",
        &["a", "b", "c"],
        &[("s", vec![1.0]), ("t", vec![1.0, 2.0, 3.0, 4.0])],
        &bn,
    ));
    assert_eq!(p.count("rect", "bar"), 4);
}

// ---------------------------------------------------------------------------------------------
// Box plots

fn stats(c: f64, s: f64) -> BoxStats {
    BoxStats {
        p5: c - 1.6 * s,
        p25: c - 0.7 * s,
        p50: c,
        p75: c + 0.7 * s,
        p95: c + 1.6 * s,
        mean: c + 0.1 * s,
    }
}

#[test]
fn boxplots_realistic() {
    let items = vec![
        ("Department of Health".to_string(), stats(4.2, 1.5)),
        (
            "Department for Communities and Local Government (local government)".to_string(),
            stats(2.8, 1.1),
        ),
        (
            "Department for Work and Pensions (social security, AME)".to_string(),
            stats(1.9, 0.9),
        ),
        ("Home Office".to_string(), stats(0.4, 0.3)),
        ("Ministry of Justice".to_string(), stats(0.3, 0.25)),
        ("Department for Education".to_string(), stats(-0.1, 0.2)),
    ];
    let p = check(&boxplots(
        "Five-year net benefit allocated to each partner",
        "Net benefit",
        &items,
        &bn,
    ));
    assert_eq!(p.count("rect", "box"), 6);
    assert_eq!(p.count("circle", "mean"), 6);
    assert_eq!(p.count("line", "median"), 6);
    assert_eq!(p.count("line", "whisker"), 24);
    let short: Vec<(&str, BoxStats)> = ["DH", "DCLG", "DWP", "HO", "MoJ", "DfE"]
        .iter()
        .zip(&items)
        .map(|(l, i)| (*l, i.1))
        .collect();
    let p = check(&boxplots("Short labels", "Net benefit", &short, &bn));
    assert!(
        p.texts
            .iter()
            .filter(|t| t.class == "category-label")
            .all(|t| t.corners[0].1 == t.corners[1].1),
        "level labels"
    );
}

#[test]
fn boxplots_degenerate() {
    let none: [(&str, BoxStats); 0] = [];
    assert!(is_no_data(&boxplots("Empty", "y", &none, &bn)));
    let nan = BoxStats {
        p5: f64::NAN,
        p25: f64::NAN,
        p50: f64::NAN,
        p75: f64::NAN,
        p95: f64::NAN,
        mean: f64::NAN,
    };
    assert!(is_no_data(&boxplots(
        "Not a number",
        "y",
        &[("a", nan)],
        &bn
    )));
    let equal = BoxStats {
        p5: 1.0,
        p25: 1.0,
        p50: 1.0,
        p75: 1.0,
        p95: 1.0,
        mean: 1.0,
    };
    let p = check(&boxplots("Equal", "y", &[("a", equal), ("b", nan)], &bn));
    assert_eq!(p.count("rect", "box"), 1);
    let partial = BoxStats {
        p25: f64::NAN,
        ..stats(0.0, 1.0)
    };
    let p = check(&boxplots("Partial", "y", &[("a", partial)], &bn));
    assert_eq!(p.count("rect", "box"), 0);
    assert_eq!(p.count("line", "median"), 1);
    let many: Vec<(String, BoxStats)> = (0..50)
        .map(|i| (format!("Pilot area number {i}"), stats(i as f64, 1.0)))
        .collect();
    check(&boxplots("Many", "y", &many, &bn));
}

// ---------------------------------------------------------------------------------------------
// Sobol indices

#[test]
fn interval_bars_realistic() {
    let items: Vec<(String, Estimate, Estimate)> = vec![
        (
            "Health and social care: realisation rate".into(),
            (0.41, 0.36, 0.46),
            (0.47, 0.42, 0.53),
        ),
        (
            "Work and skills: engagement rate".into(),
            (0.18, 0.13, 0.23),
            (0.22, 0.18, 0.27),
        ),
        (
            "Families with complex needs: cohort size relative to the pilot estimates".into(),
            (0.09, 0.04, 0.14),
            (0.12, 0.08, 0.16),
        ),
        (
            "Optimism bias on costs".into(),
            (0.02, -0.03, 0.07),
            (0.04, 0.01, 0.07),
        ),
        (
            "Discount rate".into(),
            (-0.01, -0.06, 0.04),
            (0.003, -0.001, 0.007),
        ),
        (
            "Delay".into(),
            (f64::NAN, f64::NAN, f64::NAN),
            (0.05, f64::NAN, 0.08),
        ),
    ];
    let p = check(&interval_bars(
        "Sobol sensitivity indices of the five-year net benefit",
        "Share of variance",
        &items,
    ));
    assert_eq!(p.count("rect", "first"), 5);
    assert_eq!(p.count("rect", "total"), 6);
    // Ten complete intervals: a line and two caps each.
    assert_eq!(p.count("line", "ci"), 3 * 10);
    let ticks = p.texts_of("tick-label");
    assert!(
        ticks.iter().any(|t| t.starts_with('-')),
        "axis extends below zero: {ticks:?}"
    );
    assert!(ticks.contains(&"1.0") || ticks.contains(&"1"), "{ticks:?}");
}

#[test]
fn interval_bars_degenerate() {
    let none: [(&str, Estimate, Estimate); 0] = [];
    assert!(is_no_data(&interval_bars("Empty", "x", &none)));
    let nan = (f64::NAN, f64::NAN, f64::NAN);
    assert!(is_no_data(&interval_bars(
        "Not a number",
        "x",
        &[("a", nan, nan)]
    )));
    let p = check(&interval_bars(
        "Zeros",
        "x",
        &[("a", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))],
    ));
    assert_eq!(p.count("rect", "bar"), 2);
    check(&interval_bars(
        "Above one",
        "x",
        &[("a", (1.2, 0.9, 1.5), (-0.4, -0.9, 0.1))],
    ));
}

#[test]
fn differences_realistic() {
    let items: Vec<(String, f64, f64)> = vec![
        ("base".into(), 0.0, 0.0),
        ("prudent_realisation".into(), -1.83, 0.012),
        (
            "grid_realisation=0.5_engagement=0.25_and_a_long_scenario_name_that_wraps".into(),
            0.41,
            0.03,
        ),
        ("no_standard_error".into(), 0.2, f64::NAN),
        ("failed".into(), f64::NAN, 0.1),
    ];
    let p = check(&differences(
        "Difference of each scenario's mean NPV from `base`",
        "Difference in mean NPV",
        &items,
        1.96,
        "±1.96 standard errors",
        &bn,
    ));
    // Four finite differences, three with a finite interval (the reference's has zero width).
    assert_eq!(p.count("circle", "difference"), 4);
    assert_eq!(p.count("line", "ci"), 3 * 3);
    assert_eq!(p.count("line", "zero"), 1);
    let ticks = p.texts_of("tick-label");
    // The axis takes in the largest fall and the zero line.
    assert!(
        ticks.contains(&"£-2.0bn") && ticks.contains(&"£0.0bn"),
        "{ticks:?}"
    );
    // Many rows keep the layout.
    let many: Vec<(String, f64, f64)> = (0..40)
        .map(|i| (format!("scenario_{i}"), i as f64 * 0.01 - 0.2, 0.005))
        .collect();
    let p = check(&differences("Many", "x", &many, 1.96, "interval", &bn));
    assert_eq!(p.count("circle", "difference"), 40);
}

#[test]
fn differences_degenerate() {
    let none: [(&str, f64, f64); 0] = [];
    assert!(is_no_data(&differences(
        "Empty", "x", &none, 1.96, "i", &bn
    )));
    assert!(is_no_data(&differences(
        "Not a number",
        "x",
        &[("a", f64::NAN, 1.0)],
        1.96,
        "i",
        &bn
    )));
    let p = check(&differences(
        "Only the reference",
        "x",
        &[("a", 0.0, 0.0)],
        1.96,
        "i",
        &bn,
    ));
    assert_eq!(p.count("circle", "difference"), 1);
}

// ---------------------------------------------------------------------------------------------
// Text and numbers

#[test]
fn labels_are_escaped_and_cleaned() {
    let nasty = "Costs <&> \"quoted\" 'single' \u{7}bell\nnewline";
    let cleaned = "Costs <&> \"quoted\" 'single' bell newline";
    let svg = tornado(nasty, nasty, 1.0, nasty, &[(nasty, 0.5, 1.5)], &bn);
    let p = check(&svg);
    assert!(p.texts.iter().any(|t| t.text == cleaned), "{:?}", p.texts);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let title = doc.root_element().first_element_child().unwrap();
    assert_eq!(title.text(), Some(cleaned));
    for svg in [
        histogram_cdf(nasty, nasty, &[1.0, 2.0], &[(nasty, 1.5)], &bn),
        curves(
            nasty,
            nasty,
            nasty,
            &[(nasty, vec![(0.0, 0.0), (1.0, 1.0)])],
            &bn,
            &bn,
        ),
        bars(nasty, nasty, nasty, &[nasty], &[(nasty, vec![1.0])], &bn),
        boxplots(nasty, nasty, &[(nasty, stats(1.0, 1.0))], &bn),
        interval_bars(nasty, nasty, &[(nasty, (0.5, 0.4, 0.6), (0.6, 0.5, 0.7))]),
        no_data(nasty, nasty),
    ] {
        let p = check(&svg);
        assert!(p.texts.iter().any(|t| t.text.contains("<&>")));
    }
}

#[test]
fn wrapping_and_ellipsis() {
    let w = wrap("Department for Work and Pensions", 12.0, false, 150.0, 2);
    assert_eq!(w.lines.len(), 2);
    assert!(!w.cut);
    for l in &w.lines {
        assert!(text_width(l, 12.0, false) <= 150.0);
    }
    let w = wrap(
        "one two three four five six seven eight nine ten",
        12.0,
        false,
        60.0,
        2,
    );
    assert!(w.cut);
    assert!(w.lines[1].ends_with('…'));
    assert!(text_width(&w.lines[1], 12.0, false) <= 60.0);
    let w = wrap("Supercalifragilisticexpialidocious", 12.0, false, 60.0, 3);
    assert!(w.broken);
    assert_eq!(ellipsize("short", 12.0, false, 100.0), "short");
    let e = ellipsize("a much longer label", 12.0, false, 60.0);
    assert!(
        e.ends_with('…') && text_width(&e, 12.0, false) <= 60.0,
        "{e}"
    );
    assert_eq!(ellipsize("abc", 12.0, false, 1.0), "");
    assert_eq!(wrap("", 12.0, false, 50.0, 2).lines.len(), 0);
}

#[test]
fn numbers_are_short_and_never_negative_zero() {
    assert_eq!(num(0.0), "0");
    assert_eq!(num(-0.0), "0");
    assert_eq!(num(-0.001), "0");
    assert_eq!(num(12.5), "12.5");
    assert_eq!(num(100.0), "100");
    assert_eq!(num(-1.23456), "-1.23");
}

#[test]
fn ticks_are_nice_and_exact() {
    let is_nice = |step: f64| {
        let k = step.log10().floor();
        let m = step / 10f64.powf(k);
        [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .any(|n| (m - n).abs() < 1e-9)
    };
    for (lo, hi) in [
        (0.0, 1.0),
        (-3.7, 12.2),
        (9.4, 20.6),
        (1e6, 1.3e6),
        (-1e-4, 3e-4),
        (0.0, 0.083),
    ] {
        let t = choose_ticks(lo, hi, 500.0, &TickFmt::Plain, Orient::Horizontal);
        assert!(t.lo() <= lo && t.hi() >= hi);
        let step = t.values[1] - t.values[0];
        assert!(is_nice(step), "{step} for {lo}..{hi}");
        assert!(t.labels.windows(2).all(|w| w[0] != w[1]));
    }
    // A whole-number formatter never gets a 2.5 or 0.5 step.
    let whole = |v: f64| format!("{v:.0}");
    for hi in [1.0, 3.0, 7.0, 10.0, 12.0] {
        let t = choose_ticks(0.0, hi, 300.0, &TickFmt::With(&whole), Orient::Vertical);
        let step = t.values[1] - t.values[0];
        assert!(
            step >= 1.0 && (step - step.round()).abs() < 1e-9,
            "{step} for 0..{hi}"
        );
    }
    // "£{:.1}bn" can show 0.5 steps but not 0.25.
    let t = choose_ticks(0.0, 1.0, 400.0, &TickFmt::With(&bn), Orient::Vertical);
    assert_eq!(
        t.labels,
        [
            "£0.0bn", "£0.1bn", "£0.2bn", "£0.3bn", "£0.4bn", "£0.5bn", "£0.6bn", "£0.7bn",
            "£0.8bn", "£0.9bn", "£1.0bn"
        ]
    );
    let t = choose_ticks(0.0, 1.0, 100.0, &TickFmt::With(&bn), Orient::Vertical);
    assert_eq!(t.labels, ["£0.0bn", "£0.5bn", "£1.0bn"]);
    // Degenerate ranges are widened.
    let t = choose_ticks(5.0, 5.0, 300.0, &TickFmt::Plain, Orient::Vertical);
    assert!(t.lo() < 5.0 && t.hi() > 5.0);
    let t = choose_ticks(0.0, 0.0, 300.0, &TickFmt::Plain, Orient::Vertical);
    assert!(t.lo() < 0.0 && t.hi() > 0.0);
    // Percent labels use the decimals the step needs.
    let t = choose_ticks(0.0, 0.083, 300.0, &TickFmt::Percent, Orient::Vertical);
    assert!(t.labels.iter().all(|l| l.ends_with('%')));
}

#[cfg(feature = "png")]
#[test]
fn png_renders_text() {
    use resvg::tiny_skia::Pixmap;
    let only_text = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"40\" viewBox=\"0 0 200 40\" font-family=\"sans-serif\"><rect width=\"200\" height=\"40\" fill=\"#ffffff\"/><text x=\"10\" y=\"28\" font-size=\"20\" fill=\"#000000\">£9.4bn text</text></svg>";
    let png = match svg_to_png(only_text, 1.0) {
        Ok(png) => png,
        Err(e) if e.starts_with("no system font") => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let pixmap = Pixmap::decode_png(&png).unwrap();
    assert_eq!((pixmap.width(), pixmap.height()), (200, 40));
    let dark = pixmap.pixels().iter().filter(|p| p.red() < 128).count();
    assert!(dark > 100, "text was not drawn ({dark} dark pixels)");

    let v = sorted_normal(1000, 15.0, 6.0, 4);
    let svg = histogram_cdf("NPV", "NPV", &v, &published_markers(), &bn);
    let png = svg_to_png(&svg, 2.0).unwrap();
    let pixmap = Pixmap::decode_png(&png).unwrap();
    assert_eq!(pixmap.width(), 1600);
    assert!(svg_to_png("<svg", 1.0).is_err());
    assert!(svg_to_png(&svg, 0.0).is_err());
}

// ---------------------------------------------------------------------------------------------
// Random inputs: the invariants hold for any shape of data, not only the examples above.

const WORDS: [&str; 16] = [
    "Health",
    "and",
    "social",
    "care",
    "DWP",
    "Whole-Place",
    "Community",
    "Budgets",
    "realisation",
    "(AME)",
    "£1.2bn",
    "–",
    "Département",
    "W",
    "i",
    "Greater-Manchester-and-Cheshire",
];

fn random_label(rng: &mut SplitMix, max_words: usize) -> String {
    let n = (rng.next_f64() * max_words as f64) as usize;
    (0..n)
        .map(|_| WORDS[(rng.next_f64() * WORDS.len() as f64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn random_value(rng: &mut SplitMix, centre: f64, spread: f64) -> f64 {
    let u = rng.next_f64();
    if u < 0.03 {
        f64::NAN
    } else if u < 0.05 {
        centre
    } else {
        rng.normal(centre, spread)
    }
}

#[test]
fn random_inputs_keep_the_layout_invariants() {
    let mut rng = SplitMix(2024);
    let formats: [&dyn Fn(f64) -> String; 3] = [&bn, &pct, &years];
    for case in 0..60 {
        let fmt = formats[case % 3];
        let scale = 10f64.powi((rng.next_f64() * 6.0) as i32 - 3);
        let centre = rng.normal(0.0, 3.0) * scale;
        let title = random_label(&mut rng, 25);

        let n = (rng.next_f64() * 3000.0) as usize;
        let mut v: Vec<f64> = (0..n)
            .map(|_| random_value(&mut rng, centre, scale))
            .collect();
        v.sort_by(f64::total_cmp);
        let markers: Vec<(String, f64)> = (0..(rng.next_f64() * 8.0) as usize)
            .map(|_| {
                (
                    random_label(&mut rng, 8),
                    random_value(&mut rng, centre, scale * 0.3),
                )
            })
            .collect();
        check(&histogram_cdf(
            &title,
            &random_label(&mut rng, 12),
            &v,
            &markers,
            fmt,
        ));

        let rows: Vec<(String, f64, f64)> = (0..1 + (rng.next_f64() * 14.0) as usize)
            .map(|_| {
                let l = random_label(&mut rng, 20);
                (
                    l,
                    random_value(&mut rng, centre, scale),
                    random_value(&mut rng, centre, scale),
                )
            })
            .collect();
        check(&tornado(&title, "x", centre, &title, &rows, fmt));

        let series: Vec<(String, Vec<(f64, f64)>)> = (0..1 + (rng.next_f64() * 9.0) as usize)
            .map(|_| {
                let pts = (0..(rng.next_f64() * 40.0) as usize)
                    .map(|i| (i as f64 * scale, random_value(&mut rng, centre, scale)))
                    .collect();
                (random_label(&mut rng, 10), pts)
            })
            .collect();
        check(&curves(
            &title,
            "x",
            &random_label(&mut rng, 30),
            &series,
            fmt,
            fmt,
        ));

        let cats: Vec<String> = (0..1 + (rng.next_f64() * 30.0) as usize)
            .map(|_| random_label(&mut rng, 8))
            .collect();
        let series: Vec<(String, Vec<f64>)> = (0..1 + (rng.next_f64() * 6.0) as usize)
            .map(|_| {
                let vals = cats
                    .iter()
                    .map(|_| random_value(&mut rng, centre, scale))
                    .collect();
                (random_label(&mut rng, 5), vals)
            })
            .collect();
        check(&bars(&title, "x", "y", &cats, &series, fmt));

        let items: Vec<(String, BoxStats)> = (0..1 + (rng.next_f64() * 40.0) as usize)
            .map(|_| {
                let c = random_value(&mut rng, centre, scale);
                (random_label(&mut rng, 8), stats(c, scale * rng.next_f64()))
            })
            .collect();
        check(&boxplots(&title, "y", &items, fmt));

        let sobol: Vec<(String, Estimate, Estimate)> = (0..1 + (rng.next_f64() * 20.0) as usize)
            .map(|_| {
                let mut est = || {
                    let e = random_value(&mut rng, 0.3, 0.3);
                    (e, e - 0.1 * rng.next_f64(), e + 0.1 * rng.next_f64())
                };
                let (f, t) = (est(), est());
                (random_label(&mut rng, 12), f, t)
            })
            .collect();
        check(&interval_bars(&title, "x", &sobol));
    }
}

//! Charts of Monte Carlo results as standalone SVG documents, for the offline HTML report.
//!
//! Every chart is a pure function from data to a complete `<svg>` document (a `String`) with
//! `width`, `height`, `viewBox`, a `<title>` and text in the generic `sans-serif` family. Nothing
//! is read or written and no script, font or network resource is referenced, so the documents can
//! be inlined into a report that is opened offline. The output depends only on the input: every
//! coordinate is written with at most two decimals, so the same data give the same bytes.
//!
//! Layout invariants: no two pieces of text overlap, no text crosses an axis, a tick or a marker
//! line, and all text stays on the canvas. Text is measured with `text_width`, an estimate of
//! advance widths close to DejaVu Sans (the widest common sans-serif), so real renderings are no
//! wider than the layout assumes; labels that do not fit are wrapped or cut with an ellipsis.
//! Non-finite values are skipped and never written; an input with nothing to draw gives a chart
//! with a "No data" note instead of a panic. Value axes use "nice" ticks (1, 2, 2.5 or 5 × 10^k)
//! labelled by a formatter the caller chooses, so money, percentages and years read as the rest of
//! the report.
//!
//! With the `png` feature, `svg_to_png` rasterises a chart with `resvg` for documents that cannot
//! embed SVG; that is the only function here that touches the file system (to find fonts).

use std::fmt::Write as _;

/// The default width of a chart in pixels; charts with many categories grow wider.
const WIDTH: f64 = 800.0;
/// The height of the plot area of the charts with a vertical value axis.
const PLOT_H: f64 = 300.0;
/// Outer margin on every side.
const PAD: f64 = 12.0;
const GAP: f64 = 4.0;
const TICK_LEN: f64 = 5.0;

const TITLE_SIZE: f64 = 16.0;
const LABEL_SIZE: f64 = 13.0;
const TICK_SIZE: f64 = 11.0;
const ANNOT_SIZE: f64 = 11.0;
const LEGEND_SIZE: f64 = 12.0;
const ROW_SIZE: f64 = 12.0;

/// The part of the em box above the baseline that text is assumed to occupy.
const ASCENT: f64 = 0.8;
/// The part of the em box below the baseline that text is assumed to occupy.
const DESCENT: f64 = 0.25;
/// Bold text is this much wider than regular text.
const BOLD_FACTOR: f64 = 1.12;

/// Longest row label (tornado, Sobol indices) before it is wrapped onto a second line.
const MAX_ROW_LABEL_W: f64 = 240.0;
/// Longest slanted category label before it is cut.
const MAX_CATEGORY_LABEL_W: f64 = 170.0;
/// Longest legend entry before it is cut.
const MAX_LEGEND_LABEL_W: f64 = 320.0;
/// Longest marker label before it is cut: a third of the canvas, so it fits on one side of any
/// marker with room to spare for its neighbours.
const MAX_MARKER_LABEL_W: f64 = 260.0;

const INK: &str = "#222222";
const AXIS_INK: &str = "#555555";
const GRID: &str = "#e4e4e4";
const MUTED: &str = "#666666";
/// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), without the
/// yellow, which is too light on white.
const PALETTE: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#000000",
];
/// Dash patterns combined with the palette once there are more series than colours.
const DASHES: [Option<&str>; 3] = [None, Some("7 4"), Some("2 3")];
/// Marker colours: dark enough to be read as text on white.
const MARKER_COLOURS: [&str; 5] = ["#c0392b", "#007a5a", "#7b3294", "#1a1a1a", "#a65e00"];
const HIST_FILL: &str = "#9ecae1";
/// The dots of a scatter plot.
const SCATTER_FILL: &str = "#6baed6";
/// The P5–P95 band behind a histogram.
const BAND_FILL: &str = "#fdebc8";
const CDF_INK: &str = "#08306b";
const LOW_FILL: &str = "#f0a35e";
const HIGH_FILL: &str = "#5b9bd5";
/// Text in the colour of its bar, dark enough to read on white.
const LOW_INK: &str = "#a34f00";
const HIGH_INK: &str = "#1f5f99";
const BOX_FILL: &str = "#c6dbef";
const FIRST_FILL: &str = "#9ecae1";
const TOTAL_FILL: &str = "#2171b5";

/// The five percentiles and the mean drawn by [`boxplots`]: a box from P25 to P75 with the
/// median, whiskers to P5 and P95, and a dot at the mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxStats {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub mean: f64,
}

/// An estimate with its confidence interval: `(estimate, low, high)`, as drawn by
/// [`interval_bars`].
pub type Estimate = (f64, f64, f64);

/// A histogram of a simulated distribution with its empirical CDF and labelled vertical markers.
///
/// `values_sorted` is the sample in ascending order (it is sorted here if it is not); non-finite
/// values are skipped. The value axis shows the body of the distribution, from P0.5 to P99.5
/// (widened to take in the markers); the draws beyond it are counted in a note under the
/// legend with the minimum and maximum. Bins of the body follow the Freedman–Diaconis rule,
/// between 10 and 80 of them. Bars show the share of all draws per bin (left axis), the S-curve
/// the cumulative share (right axis, 0–100%); a shaded band marks P5–P95. Each marker is a
/// vertical line with its label above the plot, e.g. `("published base £20.6bn", 20.6)`, and
/// the sample's mean and median are marked the same way with their values; labels of close
/// markers are staggered. `x_fmt` labels the value axis.
pub fn histogram_cdf<S: AsRef<str>>(
    title: &str,
    x_label: &str,
    values_sorted: &[f64],
    markers: &[(S, f64)],
    x_fmt: &dyn Fn(f64) -> String,
) -> String {
    let mut v: Vec<f64> = values_sorted
        .iter()
        .copied()
        .filter(|x| usable(*x))
        .collect();
    if v.is_empty() {
        return no_data(title, "No data: the sample has no finite values.");
    }
    if !v.is_sorted_by(|a, b| a <= b) {
        v.sort_by(f64::total_cmp);
    }
    let n = v.len();
    let (min, max) = (v[0], v[n - 1]);
    let mean = v.iter().sum::<f64>() / n as f64;
    let median = quantile(&v, 0.5);
    let mut marks: Vec<(String, f64)> = markers
        .iter()
        .filter(|m| usable(m.1))
        .map(|(label, x)| (clean(label.as_ref()), *x))
        .collect();
    if usable(mean) {
        marks.push((format!("mean {}", x_fmt(mean)), mean));
    }
    marks.push((format!("median {}", x_fmt(median)), median));
    // The body: the order statistics at P0.5 and P99.5, outward (all draws when those are
    // equal).
    let last = (n - 1) as f64;
    let (q_lo, q_hi) = (
        v[(0.005 * last).floor() as usize],
        v[(0.995 * last).ceil() as usize],
    );
    let (body_lo, body_hi) = if q_hi > q_lo {
        (q_lo, q_hi)
    } else {
        (min, max)
    };
    let (lo, hi) = marks
        .iter()
        .fold((body_lo, body_hi), |(lo, hi), m| (lo.min(m.1), hi.max(m.1)));
    let (below, above) = (
        v.partition_point(|&x| x < lo),
        n - v.partition_point(|&x| x <= hi),
    );
    let body = &v[below..n - above];
    let bins = Bins::freedman_diaconis(body);
    let (p5, p95) = (quantile(&v, 0.05), quantile(&v, 0.95));

    let mut svg = Svg::new();
    let top = draw_title(&mut svg, title, WIDTH);

    let max_share = bins.counts.iter().copied().max().unwrap_or(0) as f64 / n as f64;
    let share_ticks = choose_ticks(0.0, max_share, PLOT_H, &TickFmt::Percent, Orient::Vertical);
    let cdf_ticks = Ticks::percent_quarters();
    let left = y_axis_room(&share_ticks);
    let right =
        TICK_LEN + GAP + cdf_ticks.max_width(TICK_SIZE) + 2.0 * GAP + rotated_label_band() + PAD;
    let mut plot = Rect {
        x: left,
        y: 0.0,
        w: WIDTH - left - right,
        h: PLOT_H,
    };
    let x_ticks = fit_x_ticks(lo, hi, &mut plot, &TickFmt::With(x_fmt), PAD, WIDTH - PAD);
    let xs = Scale::new(x_ticks.lo(), x_ticks.hi(), plot.x, plot.right());

    // Marker labels go in rows above the plot; the plot starts below the last row.
    let anchors: Vec<(String, f64)> = marks.iter().map(|(l, x)| (l.clone(), xs.at(*x))).collect();
    let placed = place_marker_labels(&anchors, PAD, WIDTH - PAD);
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(0);
    let row_pitch = (ASCENT + DESCENT) * ANNOT_SIZE + 5.0;
    let band_gap = 10.0;
    plot.y = top + rows as f64 * row_pitch + band_gap;
    let ys = Scale::new(share_ticks.lo(), share_ticks.hi(), plot.bottom(), plot.y);
    let cs = Scale::new(0.0, 1.0, plot.bottom(), plot.y);

    draw_y_grid(&mut svg, plot, &ys, &share_ticks);
    // The P5–P95 band, behind the bars.
    if p95 > p5 {
        let r = Rect {
            x: xs.at(p5),
            y: plot.y,
            w: xs.at(p95) - xs.at(p5),
            h: plot.h,
        };
        svg.rect("band", r, BAND_FILL, None);
    }
    // Bars: the share of draws per bin.
    if bins.width > 0.0 {
        for (i, &count) in bins.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let x0 = xs.at(bins.start + i as f64 * bins.width);
            let x1 = xs.at(bins.start + (i + 1) as f64 * bins.width);
            let y = ys.at(count as f64 / n as f64);
            let r = Rect {
                x: x0,
                y,
                w: x1 - x0,
                h: plot.bottom() - y,
            };
            svg.rect("bar", r, HIST_FILL, Some("#ffffff"));
        }
    } else {
        // All draws equal: one bar of nominal width holding every draw.
        let half = plot.w / 120.0;
        let y = ys.at(1.0);
        let r = Rect {
            x: xs.at(bins.start) - half,
            y,
            w: 2.0 * half,
            h: plot.bottom() - y,
        };
        svg.rect("bar", r, HIST_FILL, Some("#ffffff"));
    }
    // The empirical CDF over the axis, evaluated on a fixed grid (a polyline per draw would be
    // megabytes).
    let (c_lo, c_hi) = (x_ticks.lo().max(min), x_ticks.hi().min(max));
    let share_to = |x: f64| v.partition_point(|&y| y <= x) as f64 / n as f64;
    let mut cdf = vec![(x_ticks.lo(), share_to(x_ticks.lo()))];
    if c_hi > c_lo {
        const STEPS: usize = 240;
        for i in 0..=STEPS {
            let x = if i == STEPS {
                c_hi
            } else {
                c_lo + (c_hi - c_lo) * i as f64 / STEPS as f64
            };
            cdf.push((x, share_to(x)));
        }
    } else {
        cdf.push((c_lo, share_to(c_lo)));
    }
    cdf.push((x_ticks.hi(), share_to(x_ticks.hi())));
    let cdf_px: Vec<(f64, f64)> = cdf.iter().map(|&(x, f)| (xs.at(x), cs.at(f))).collect();
    svg.polyline("cdf", &cdf_px, Stroke::solid(CDF_INK, 2.0));

    // Marker lines run from the plot's bottom to the middle of their label's row (a label beside
    // the line) or to just under it (a label on top of the line).
    for (i, p) in placed.iter().enumerate() {
        let colour = MARKER_COLOURS[i % MARKER_COLOURS.len()];
        let x = anchors[i].1;
        let baseline = plot.y - band_gap - DESCENT * ANNOT_SIZE - p.row as f64 * row_pitch;
        let top_y = if p.text.is_empty() {
            plot.y
        } else if p.on_top {
            baseline + DESCENT * ANNOT_SIZE + 1.5
        } else {
            baseline - 0.3 * ANNOT_SIZE
        };
        svg.line(
            "marker",
            (x, plot.bottom()),
            (x, top_y),
            Stroke::dashed(colour, 1.5, "6 3"),
        );
        let style = Style::new(ANNOT_SIZE, p.anchor).fill(colour);
        svg.text("marker-label", p.x, baseline, &p.text, style);
    }

    draw_left_axis(&mut svg, plot, &ys, &share_ticks, "Share of draws");
    // Right axis: cumulative share.
    svg.line(
        "axis",
        (plot.right(), plot.y),
        (plot.right(), plot.bottom()),
        Stroke::solid(AXIS_INK, 1.0),
    );
    for (t, label) in cdf_ticks.values.iter().zip(&cdf_ticks.labels) {
        let y = cs.at(*t);
        svg.line(
            "tick",
            (plot.right(), y),
            (plot.right() + TICK_LEN, y),
            Stroke::solid(AXIS_INK, 1.0),
        );
        let style = Style::new(TICK_SIZE, Anchor::Start);
        svg.text(
            "tick-label",
            plot.right() + TICK_LEN + GAP,
            y + centre_shift(TICK_SIZE),
            label,
            style,
        );
    }
    let cx = plot.right()
        + TICK_LEN
        + GAP
        + cdf_ticks.max_width(TICK_SIZE)
        + 2.0 * GAP
        + ASCENT * LABEL_SIZE;
    draw_rotated_label(&mut svg, cx, plot, "Cumulative share of draws (line)");

    let bottom = draw_bottom_axis(&mut svg, plot, &xs, &x_ticks, x_label);
    let legend = [
        LegendEntry::new(
            Swatch::Fill(HIST_FILL),
            "Share of draws per bin (left axis)",
        ),
        LegendEntry::new(
            Swatch::Line(CDF_INK, None),
            "Cumulative share of draws (right axis)",
        ),
        LegendEntry::new(
            Swatch::Fill(BAND_FILL),
            &format!("P5 to P95 ({} to {})", x_fmt(p5), x_fmt(p95)),
        ),
    ];
    let mut bottom = draw_legend(&mut svg, &legend, plot.x, WIDTH - PAD, bottom + 2.0 * GAP);
    if below + above > 0 {
        let share = |k: usize| format!("{:.1}%", 100.0 * k as f64 / n as f64);
        let mut parts = Vec::new();
        if below > 0 {
            parts.push(format!(
                "{} of draws lie below (minimum {})",
                share(below),
                x_fmt(min)
            ));
        }
        if above > 0 {
            parts.push(format!("{} above (maximum {})", share(above), x_fmt(max)));
        }
        let note = format!("Bars show P0.5 to P99.5: {}.", parts.join(", "));
        bottom = draw_note(&mut svg, &note, plot.x, WIDTH - PAD, bottom + GAP);
    }
    svg.finish(title, WIDTH, bottom + PAD)
}

/// A note of up to two lines in small muted text from `x0` to `x1`; returns its bottom.
fn draw_note(svg: &mut Svg, note: &str, x0: f64, x1: f64, top: f64) -> f64 {
    let w = wrap(note, ANNOT_SIZE, false, x1 - x0, 2);
    let pitch = (ASCENT + DESCENT) * ANNOT_SIZE + 3.0;
    let mut y = top;
    for line in &w.lines {
        let style = Style::new(ANNOT_SIZE, Anchor::Start).fill(MUTED);
        svg.text("note", x0, y + ASCENT * ANNOT_SIZE, line, style);
        y += pitch;
    }
    y
}

/// A tornado chart: one horizontal bar per input, from the base value to the output with the input
/// at its low value and to the output with the input at its high value.
///
/// `bars` holds `(input label, output at low input, output at high input)`, drawn top to bottom in
/// the order given (callers sort by swing). The vertical line is `base_value`, labelled above the
/// rows as `base_label` with its value (e.g. "All inputs at their medians"); each end is labelled
/// with its value through `x_fmt`, which also labels the axis. Long input labels wrap onto a second
/// line and are cut with an ellipsis beyond it.
pub fn tornado<S: AsRef<str>>(
    title: &str,
    x_label: &str,
    base_value: f64,
    base_label: &str,
    bars: &[(S, f64, f64)],
    x_fmt: &dyn Fn(f64) -> String,
) -> String {
    if bars.is_empty() {
        return no_data(title, "No data: there are no inputs to show.");
    }
    if !usable(base_value) {
        return no_data(title, "No data: the base value is not a finite number.");
    }
    let rows: Vec<(String, Option<f64>, Option<f64>)> = bars
        .iter()
        .map(|(l, lo, hi)| (clean(l.as_ref()), finite(*lo), finite(*hi)))
        .collect();
    if rows.iter().all(|r| r.1.is_none() && r.2.is_none()) {
        return no_data(title, "No data: no input has a finite output.");
    }
    let base = base_value;

    let mut svg = Svg::new();
    let top = draw_title(&mut svg, title, WIDTH);

    let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let (label_w, label_lines) = row_labels(&labels);
    let plot_x = PAD + label_w + 10.0;

    // Where each end's value label goes: outside its own end, or, when both ends lie on the same
    // side of the base, the nearer one on the empty side of the base line, so the two labels can
    // never collide.
    let ends: Vec<Vec<EndLabel>> = rows
        .iter()
        .map(|r| end_labels(base, r.1, r.2, x_fmt))
        .collect();
    let gutter = |side: Side| {
        ends.iter()
            .flatten()
            .filter(|e| e.side == side)
            .map(|e| text_width(&e.text, ANNOT_SIZE, false) + GAP + 2.0)
            .fold(0.0, f64::max)
    };
    let (gl, gr) = (gutter(Side::Left), gutter(Side::Right));
    let mut inner = Rect {
        x: plot_x + gl,
        y: 0.0,
        w: WIDTH - PAD - gr - (plot_x + gl),
        h: 0.0,
    };
    let (lo, hi) = rows.iter().fold((base, base), |(lo, hi), r| {
        let (a, b) = (r.1.unwrap_or(base), r.2.unwrap_or(base));
        (lo.min(a).min(b), hi.max(a).max(b))
    });
    let ticks = fit_x_ticks(lo, hi, &mut inner, &TickFmt::With(x_fmt), PAD, WIDTH - PAD);
    let xs = Scale::new(ticks.lo(), ticks.hi(), inner.x, inner.right());

    // The base value's label sits above the rows.
    let base_text = ellipsize(
        &format!("{}: {}", clean(base_label), x_fmt(base)),
        ANNOT_SIZE,
        false,
        WIDTH - 2.0 * PAD,
    );
    let bx = clamp_centre(
        xs.at(base),
        text_width(&base_text, ANNOT_SIZE, false),
        PAD,
        WIDTH - PAD,
    );
    svg.text(
        "base-label",
        bx,
        top + ASCENT * ANNOT_SIZE,
        &base_text,
        Style::new(ANNOT_SIZE, Anchor::Middle),
    );
    const ROW_PITCH: f64 = 32.0;
    const BAR_H: f64 = 18.0;
    let rows_top = top + (ASCENT + DESCENT) * ANNOT_SIZE + 8.0;
    let axis_y = rows_top + rows.len() as f64 * ROW_PITCH + GAP;
    let frame = Rect {
        x: inner.x,
        y: rows_top,
        w: inner.w,
        h: axis_y - rows_top,
    };
    draw_x_grid(&mut svg, frame, &xs, &ticks);

    for (i, ((_, low, high), lines)) in rows.iter().zip(&label_lines).enumerate() {
        let yc = rows_top + (i as f64 + 0.5) * ROW_PITCH;
        draw_row_label(&mut svg, lines, plot_x - 10.0, yc);
        // Draw the longer segment first so the shorter one stays visible on top of it.
        let mut segs: Vec<(f64, &str)> = Vec::new();
        if let Some(v) = low {
            segs.push((*v, LOW_FILL));
        }
        if let Some(v) = high {
            segs.push((*v, HIGH_FILL));
        }
        segs.sort_by(|a, b| (b.0 - base).abs().total_cmp(&(a.0 - base).abs()));
        for (v, fill) in segs {
            let (x0, x1) = (xs.at(base), xs.at(v));
            let r = Rect {
                x: x0.min(x1),
                y: yc - BAR_H / 2.0,
                w: (x1 - x0).abs(),
                h: BAR_H,
            };
            svg.rect("bar", r, fill, None);
        }
        for e in &ends[i] {
            let x = xs.at(e.at);
            let (tx, anchor) = match e.side {
                Side::Left => (x - GAP, Anchor::End),
                Side::Right => (x + GAP, Anchor::Start),
            };
            let style = Style::new(ANNOT_SIZE, anchor).fill(e.ink);
            svg.text(
                "value-label",
                tx,
                yc + centre_shift(ANNOT_SIZE),
                &e.text,
                style,
            );
        }
    }
    svg.line(
        "base",
        (xs.at(base), rows_top - 2.0),
        (xs.at(base), axis_y),
        Stroke::solid(INK, 1.5),
    );
    let bottom = draw_bottom_axis(&mut svg, frame, &xs, &ticks, x_label);
    let legend = [
        LegendEntry::new(Swatch::Fill(LOW_FILL), "Input at its low value"),
        LegendEntry::new(Swatch::Fill(HIGH_FILL), "Input at its high value"),
    ];
    let bottom = draw_legend(&mut svg, &legend, plot_x, WIDTH - PAD, bottom + 2.0 * GAP);
    svg.finish(title, WIDTH, bottom + PAD)
}

/// A line chart of one or more series of `(x, y)` points, e.g. P(NPV > 0) against leakage or
/// delay, with the legend below the plot.
///
/// Points are joined in the order given; a non-finite point breaks the line. Series with at most
/// 30 points also get a dot at each point. `x_fmt` and `y_fmt` label the two axes.
pub fn curves<S: AsRef<str>>(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(S, Vec<(f64, f64)>)],
    x_fmt: &dyn Fn(f64) -> String,
    y_fmt: &dyn Fn(f64) -> String,
) -> String {
    let finite_pts = series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(|(x, y)| usable(*x) && usable(*y));
    let Some(bounds) = xy_bounds(finite_pts.map(|&(x, y)| (x, y, y))) else {
        return no_data(title, "No data: no series has a finite point.");
    };

    let mut svg = Svg::new();
    let frame = XyFrame::draw(&mut svg, title, bounds, x_fmt, y_fmt);
    let (plot, xs, ys) = (frame.plot, frame.xs, frame.ys);
    let mut legend = Vec::new();
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = DASHES[(i / PALETTE.len()) % DASHES.len()];
        let stroke = Stroke {
            colour,
            width: 2.0,
            dash,
        };
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut any = false;
        for &(x, y) in pts.iter().chain(std::iter::once(&(f64::NAN, f64::NAN))) {
            if usable(x) && usable(y) {
                run.push((xs.at(x), ys.at(y)));
                any = true;
            } else if !run.is_empty() {
                if run.len() == 1 {
                    svg.circle("point", run[0], 3.0, colour, colour);
                } else {
                    svg.polyline("series", &run, stroke);
                }
                if pts.len() <= 30 && run.len() > 1 {
                    for &p in &run {
                        svg.circle("point", p, 2.5, colour, colour);
                    }
                }
                run.clear();
            }
        }
        let name = clean(name.as_ref());
        let label = if any {
            name
        } else {
            format!("{name} (no data)")
        };
        legend.push(LegendEntry::new(Swatch::Line(colour, dash), &label));
    }
    let bottom = frame.draw_axes(&mut svg, x_label, y_label);
    let bottom = draw_legend(&mut svg, &legend, plot.x, WIDTH - PAD, bottom + 2.0 * GAP);
    svg.finish(title, WIDTH, bottom + PAD)
}

/// A scatter plot of a sample of `(x, y)` points with a trend line, e.g. one input against the
/// NPV over a sample of the draws, with the NPV's mean per slice of the input as the trend.
///
/// Points are small dots in the order given; the trend is joined in the order given. Non-finite
/// points are skipped. `point_label` and `trend_label` name them in the legend.
#[allow(clippy::too_many_arguments)]
pub fn scatter(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    trend: &[(f64, f64)],
    (point_label, trend_label): (&str, &str),
    x_fmt: &dyn Fn(f64) -> String,
    y_fmt: &dyn Fn(f64) -> String,
) -> String {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| usable(*x) && usable(*y))
        .collect();
    let line: Vec<(f64, f64)> = trend
        .iter()
        .copied()
        .filter(|(x, y)| usable(*x) && usable(*y))
        .collect();
    let Some(bounds) = xy_bounds(pts.iter().chain(&line).map(|&(x, y)| (x, y, y))) else {
        return no_data(title, "No data: no point is finite.");
    };
    let mut svg = Svg::new();
    let frame = XyFrame::draw(&mut svg, title, bounds, x_fmt, y_fmt);
    let (plot, xs, ys) = (frame.plot, frame.xs, frame.ys);
    for &(x, y) in &pts {
        svg.circle(
            "point",
            (xs.at(x), ys.at(y)),
            1.6,
            SCATTER_FILL,
            SCATTER_FILL,
        );
    }
    let trend_px: Vec<(f64, f64)> = line.iter().map(|&(x, y)| (xs.at(x), ys.at(y))).collect();
    if trend_px.len() > 1 {
        svg.polyline("trend", &trend_px, Stroke::solid(CDF_INK, 2.5));
    }
    let bottom = frame.draw_axes(&mut svg, x_label, y_label);
    let legend = [
        LegendEntry::new(Swatch::Dot(SCATTER_FILL), point_label),
        LegendEntry::new(Swatch::Line(CDF_INK, None), trend_label),
    ];
    let bottom = draw_legend(&mut svg, &legend, plot.x, WIDTH - PAD, bottom + 2.0 * GAP);
    svg.finish(title, WIDTH, bottom + PAD)
}

/// One series of [`band_lines`]: its name and points `(x, y, low, high)`, the band running from
/// `low` to `high`.
pub type BandSeries = (String, Vec<(f64, f64, f64, f64)>);

/// Lines with a shaded band each, e.g. the running mean and percentiles of the NPV against the
/// number of draws with their 95% confidence bands. Non-finite points are skipped. `note`, when
/// not empty, is printed under the legend.
pub fn band_lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[BandSeries],
    note: &str,
    x_fmt: &dyn Fn(f64) -> String,
    y_fmt: &dyn Fn(f64) -> String,
) -> String {
    let ok = |p: &&(f64, f64, f64, f64)| usable(p.0) && usable(p.1) && usable(p.2) && usable(p.3);
    let finite_pts = series.iter().flat_map(|s| s.1.iter().filter(ok));
    let Some(bounds) =
        xy_bounds(finite_pts.map(|&(x, y, l, h)| (x, y.min(l).min(h), y.max(l).max(h))))
    else {
        return no_data(title, "No data: no series has a finite point.");
    };
    let mut svg = Svg::new();
    let frame = XyFrame::draw(&mut svg, title, bounds, x_fmt, y_fmt);
    let (plot, xs, ys) = (frame.plot, frame.xs, frame.ys);
    let mut legend = Vec::new();
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = DASHES[(i / PALETTE.len()) % DASHES.len()];
        let p: Vec<&(f64, f64, f64, f64)> = pts.iter().filter(ok).collect();
        if p.len() > 1 {
            let mut outline: Vec<(f64, f64)> = p.iter().map(|q| (xs.at(q.0), ys.at(q.3))).collect();
            outline.extend(p.iter().rev().map(|q| (xs.at(q.0), ys.at(q.2))));
            svg.polygon("band", &outline, colour, 0.18);
            let line: Vec<(f64, f64)> = p.iter().map(|q| (xs.at(q.0), ys.at(q.1))).collect();
            svg.polyline(
                "series",
                &line,
                Stroke {
                    colour,
                    width: 2.0,
                    dash,
                },
            );
        }
        legend.push(LegendEntry::new(Swatch::Line(colour, dash), name));
    }
    let bottom = frame.draw_axes(&mut svg, x_label, y_label);
    let mut bottom = draw_legend(&mut svg, &legend, plot.x, WIDTH - PAD, bottom + 2.0 * GAP);
    if !note.is_empty() {
        bottom = draw_note(&mut svg, note, plot.x, WIDTH - PAD, bottom + GAP);
    }
    svg.finish(title, WIDTH, bottom + PAD)
}

/// The extent `(x_lo, x_hi, y_lo, y_hi)` of points given as `(x, y_lo, y_hi)`; `None` when there
/// are none.
fn xy_bounds(pts: impl Iterator<Item = (f64, f64, f64)>) -> Option<(f64, f64, f64, f64)> {
    pts.fold(None, |acc, (x, a, b)| match acc {
        None => Some((x, x, a, b)),
        Some((p, q, r, t)) => Some((x.min(p), x.max(q), a.min(r), b.max(t))),
    })
}

/// The frame of an x–y chart ([`curves`], [`scatter`], [`band_lines`]): the title, the plot
/// rectangle with room for the tick labels, the two scales and the grid lines. The axes are
/// drawn by [`XyFrame::draw_axes`] once the data is on the plot.
struct XyFrame {
    plot: Rect,
    xs: Scale,
    ys: Scale,
    x_ticks: Ticks,
    y_ticks: Ticks,
}

impl XyFrame {
    /// Draws the title and the grid for data within `(x_lo, x_hi, y_lo, y_hi)`.
    fn draw(
        svg: &mut Svg,
        title: &str,
        (xlo, xhi, ylo, yhi): (f64, f64, f64, f64),
        x_fmt: &dyn Fn(f64) -> String,
        y_fmt: &dyn Fn(f64) -> String,
    ) -> XyFrame {
        let top = draw_title(svg, title, WIDTH);
        let y_ticks = choose_ticks(ylo, yhi, PLOT_H, &TickFmt::With(y_fmt), Orient::Vertical);
        let left = y_axis_room(&y_ticks);
        let mut plot = Rect {
            x: left,
            y: top + GAP,
            w: WIDTH - left - PAD,
            h: PLOT_H,
        };
        let x_ticks = fit_x_ticks(xlo, xhi, &mut plot, &TickFmt::With(x_fmt), PAD, WIDTH - PAD);
        let xs = Scale::new(x_ticks.lo(), x_ticks.hi(), plot.x, plot.right());
        let ys = Scale::new(y_ticks.lo(), y_ticks.hi(), plot.bottom(), plot.y);
        draw_y_grid(svg, plot, &ys, &y_ticks);
        draw_x_grid(svg, plot, &xs, &x_ticks);
        XyFrame {
            plot,
            xs,
            ys,
            x_ticks,
            y_ticks,
        }
    }

    /// Draws the left and bottom axes with their labels; returns the bottom of the x axis label.
    fn draw_axes(&self, svg: &mut Svg, x_label: &str, y_label: &str) -> f64 {
        draw_left_axis(svg, self.plot, &self.ys, &self.y_ticks, y_label);
        draw_bottom_axis(svg, self.plot, &self.xs, &self.x_ticks, x_label)
    }
}

/// Grouped vertical bars: one group per category, one bar per series in each group, e.g. the
/// probability of breaking even by each year, per theme.
///
/// `series[j].1[i]` is the value of series `j` in category `i`; missing and non-finite values
/// leave a gap. Bars start at zero (the axis always includes it). `y_fmt` labels the value axis.
/// Category labels are wrapped, or slanted when they would not fit side by side.
pub fn bars<C: AsRef<str>, S: AsRef<str>>(
    title: &str,
    x_label: &str,
    y_label: &str,
    categories: &[C],
    series: &[(S, Vec<f64>)],
    y_fmt: &dyn Fn(f64) -> String,
) -> String {
    let nc = categories.len();
    let value = |j: usize, i: usize| series[j].1.get(i).copied().and_then(finite);
    let all: Vec<f64> = (0..series.len())
        .flat_map(|j| (0..nc).filter_map(move |i| value(j, i)))
        .collect();
    if all.is_empty() {
        return no_data(title, "No data: there are no finite values to show.");
    }
    let (lo, hi) = all
        .iter()
        .fold((0.0_f64, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));

    let mut svg = Svg::new();
    let y_ticks = choose_ticks(lo, hi, PLOT_H, &TickFmt::With(y_fmt), Orient::Vertical);
    let labels: Vec<String> = categories.iter().map(|c| clean(c.as_ref())).collect();
    let min_slot = (series.len() as f64 * 8.0 + 10.0).max(20.0);
    let (mut plot, cats) = category_layout(&labels, y_axis_room(&y_ticks), min_slot);
    // The chart grows wider with many categories; the title is centred on the final width.
    let width = plot.right() + PAD;
    let top = draw_title(&mut svg, title, width);
    plot.y = top + GAP;
    let ys = Scale::new(y_ticks.lo(), y_ticks.hi(), plot.bottom(), plot.y);

    draw_y_grid(&mut svg, plot, &ys, &y_ticks);
    let group = cats.slot * 0.8;
    let bw = group / series.len() as f64;
    let inset = if bw > 6.0 { 1.0 } else { 0.0 };
    for i in 0..nc {
        let x0 = plot.x + i as f64 * cats.slot + (cats.slot - group) / 2.0;
        for j in 0..series.len() {
            let Some(v) = value(j, i) else { continue };
            let (y0, y1) = (ys.at(0.0), ys.at(v));
            let r = Rect {
                x: x0 + j as f64 * bw + inset / 2.0,
                y: y0.min(y1),
                w: bw - inset,
                h: (y1 - y0).abs(),
            };
            svg.rect("bar", r, PALETTE[j % PALETTE.len()], None);
        }
    }
    if lo < 0.0 {
        let y = ys.at(0.0);
        svg.line(
            "zero",
            (plot.x, y),
            (plot.right(), y),
            Stroke::solid(AXIS_INK, 1.0),
        );
    }
    draw_left_axis(&mut svg, plot, &ys, &y_ticks, y_label);
    let mut bottom = draw_categories(&mut svg, plot, &cats);
    bottom = draw_x_label(&mut svg, plot, bottom, x_label);
    let legend: Vec<LegendEntry> = series
        .iter()
        .enumerate()
        .map(|(j, (name, _))| {
            LegendEntry::new(Swatch::Fill(PALETTE[j % PALETTE.len()]), name.as_ref())
        })
        .collect();
    let bottom = draw_legend(&mut svg, &legend, plot.x, width - PAD, bottom + 2.0 * GAP);
    svg.finish(title, width, bottom + PAD)
}

/// Box plots, one per item (e.g. per partner): a box from P25 to P75 with a line at the median,
/// whiskers to P5 and P95, and a dot at the mean. Non-finite statistics are left out.
/// `y_fmt` labels the value axis; category labels are slanted when they would overlap.
pub fn boxplots<S: AsRef<str>>(
    title: &str,
    y_label: &str,
    items: &[(S, BoxStats)],
    y_fmt: &dyn Fn(f64) -> String,
) -> String {
    let stats: Vec<[Option<f64>; 6]> = items
        .iter()
        .map(|(_, b)| [b.p5, b.p25, b.p50, b.p75, b.p95, b.mean].map(finite))
        .collect();
    let all: Vec<f64> = stats.iter().flatten().flatten().copied().collect();
    let Some((lo, hi)) = all.iter().fold(None, |acc: Option<(f64, f64)>, &v| {
        Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
    }) else {
        return no_data(title, "No data: there are no finite statistics to show.");
    };

    let mut svg = Svg::new();
    let y_ticks = choose_ticks(lo, hi, PLOT_H, &TickFmt::With(y_fmt), Orient::Vertical);
    let labels: Vec<String> = items.iter().map(|(l, _)| clean(l.as_ref())).collect();
    let (mut plot, cats) = category_layout(&labels, y_axis_room(&y_ticks), 24.0);
    // The chart grows wider with many categories; the title is centred on the final width.
    let width = plot.right() + PAD;
    let top = draw_title(&mut svg, title, width);
    plot.y = top + GAP;
    let ys = Scale::new(y_ticks.lo(), y_ticks.hi(), plot.bottom(), plot.y);

    draw_y_grid(&mut svg, plot, &ys, &y_ticks);
    let bw = (cats.slot * 0.5).min(56.0);
    for (i, s) in stats.iter().enumerate() {
        let cx = plot.x + (i as f64 + 0.5) * cats.slot;
        let [p5, p25, p50, p75, p95, mean] = *s;
        let whisker = Stroke::solid(INK, 1.2);
        for (from, to) in [(p75.or(p50), p95), (p25.or(p50), p5)] {
            if let (Some(a), Some(b)) = (from, to) {
                svg.line("whisker", (cx, ys.at(a)), (cx, ys.at(b)), whisker);
                let y = ys.at(b);
                svg.line("whisker", (cx - bw / 4.0, y), (cx + bw / 4.0, y), whisker);
            }
        }
        if let (Some(a), Some(b)) = (p25, p75) {
            let (ya, yb) = (ys.at(a), ys.at(b));
            let r = Rect {
                x: cx - bw / 2.0,
                y: ya.min(yb),
                w: bw,
                h: (ya - yb).abs(),
            };
            svg.rect("box", r, BOX_FILL, Some(INK));
        }
        if let Some(m) = p50 {
            let y = ys.at(m);
            svg.line(
                "median",
                (cx - bw / 2.0, y),
                (cx + bw / 2.0, y),
                Stroke::solid(INK, 2.5),
            );
        }
        if let Some(m) = mean {
            svg.circle("mean", (cx, ys.at(m)), 3.5, "#ffffff", PALETTE[1]);
        }
    }
    draw_left_axis(&mut svg, plot, &ys, &y_ticks, y_label);
    let bottom = draw_categories(&mut svg, plot, &cats);
    let legend = [
        LegendEntry::new(Swatch::Fill(BOX_FILL), "P25–P75"),
        LegendEntry::new(Swatch::Line(INK, None), "Median"),
        LegendEntry::new(Swatch::Whisker(INK), "P5–P95"),
        LegendEntry::new(Swatch::Dot(PALETTE[1]), "Mean"),
    ];
    let bottom = draw_legend(&mut svg, &legend, plot.x, width - PAD, bottom + 2.0 * GAP);
    svg.finish(title, width, bottom + PAD)
}

/// Sobol indices as paired horizontal bars, first-order above total-order for each input, with
/// error bars for their confidence intervals.
///
/// Each item is `(input label, (first-order estimate, low, high), (total-order estimate, low,
/// high))`. The axis spans 0–1, extended to take in any estimate or interval outside it (sampling
/// error can make an index slightly negative). Non-finite numbers are left out.
pub fn interval_bars<S: AsRef<str>>(
    title: &str,
    x_label: &str,
    items: &[(S, Estimate, Estimate)],
) -> String {
    let nums: Vec<[[Option<f64>; 3]; 2]> = items
        .iter()
        .map(|(_, f, t)| [[f.0, f.1, f.2].map(finite), [t.0, t.1, t.2].map(finite)])
        .collect();
    let all: Vec<f64> = nums.iter().flatten().flatten().flatten().copied().collect();
    if all.is_empty() {
        return no_data(title, "No data: there are no finite indices to show.");
    }
    let (lo, hi) = all
        .iter()
        .fold((0.0_f64, 1.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));

    let mut svg = Svg::new();
    const ROW_PITCH: f64 = 44.0;
    const BAR_H: f64 = 13.0;
    let labels: Vec<String> = items.iter().map(|(l, _, _)| clean(l.as_ref())).collect();
    let RowFrame {
        plot_x,
        label_lines,
        xs,
        ticks,
        rows_top,
        axis_y,
        frame,
    } = row_frame(
        &mut svg,
        title,
        &labels,
        (lo, hi),
        &TickFmt::Plain,
        ROW_PITCH,
    );
    let ci = Stroke::solid(INK, 1.3);
    for (i, (pair, lines)) in nums.iter().zip(&label_lines).enumerate() {
        let yc = rows_top + (i as f64 + 0.5) * ROW_PITCH;
        draw_row_label(&mut svg, lines, plot_x - 10.0, yc);
        for (k, [est, low, high]) in pair.iter().enumerate() {
            let (class, fill) = if k == 0 {
                ("bar first", FIRST_FILL)
            } else {
                ("bar total", TOTAL_FILL)
            };
            let ym = yc + (k as f64 - 0.5) * (BAR_H + 3.0);
            if let Some(e) = est {
                let (x0, x1) = (xs.at(0.0), xs.at(*e));
                let r = Rect {
                    x: x0.min(x1),
                    y: ym - BAR_H / 2.0,
                    w: (x1 - x0).abs(),
                    h: BAR_H,
                };
                svg.rect(class, r, fill, None);
            }
            if let (Some(a), Some(b)) = (low, high) {
                let (xa, xb) = (xs.at(a.min(*b)), xs.at(a.max(*b)));
                svg.line("ci", (xa, ym), (xb, ym), ci);
                for x in [xa, xb] {
                    svg.line("ci", (x, ym - 4.0), (x, ym + 4.0), ci);
                }
            }
        }
    }
    if ticks.lo() < 0.0 {
        svg.line(
            "zero",
            (xs.at(0.0), rows_top),
            (xs.at(0.0), axis_y),
            Stroke::solid(AXIS_INK, 1.0),
        );
    }
    let bottom = draw_bottom_axis(&mut svg, frame, &xs, &ticks, x_label);
    let legend = [
        LegendEntry::new(Swatch::Fill(FIRST_FILL), "First-order index"),
        LegendEntry::new(Swatch::Fill(TOTAL_FILL), "Total-order index"),
        LegendEntry::new(Swatch::Whisker(INK), "Confidence interval"),
    ];
    let bottom = draw_legend(&mut svg, &legend, plot_x, WIDTH - PAD, bottom + 2.0 * GAP);
    svg.finish(title, WIDTH, bottom + PAD)
}

/// Differences from a reference with their intervals, one row per item (a forest plot), e.g. each
/// scenario's mean NPV minus the reference scenario's, with an interval of `z` standard errors
/// either side of the difference.
///
/// Each item is `(label, difference, standard error)`. The axis always includes zero, drawn as a
/// reference line. A non-finite difference leaves the row empty; a non-finite standard error
/// draws the point without an interval. `x_fmt` labels the axis; `interval_label` names the
/// interval in the legend (e.g. "±1.96 standard errors").
pub fn differences<S: AsRef<str>>(
    title: &str,
    x_label: &str,
    items: &[(S, f64, f64)],
    z: f64,
    interval_label: &str,
    x_fmt: &dyn Fn(f64) -> String,
) -> String {
    // Per item: the difference and its interval, when finite.
    type Row = (Option<f64>, Option<(f64, f64)>);
    let rows: Vec<Row> = items
        .iter()
        .map(|(_, d, se)| {
            let d = finite(*d);
            let iv = d.and_then(|d| {
                let half = finite(*se)?.abs() * z;
                Some((d - half, d + half)).filter(|(a, b)| usable(*a) && usable(*b))
            });
            (d, iv)
        })
        .collect();
    let all: Vec<f64> = rows
        .iter()
        .flat_map(|(d, iv)| {
            let (a, b) = iv.map_or((None, None), |(a, b)| (Some(a), Some(b)));
            [*d, a, b]
        })
        .flatten()
        .collect();
    if all.is_empty() {
        return no_data(title, "No data: there are no finite differences to show.");
    }
    let (lo, hi) = all
        .iter()
        .fold((0.0_f64, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));

    let mut svg = Svg::new();
    const ROW_PITCH: f64 = 32.0;
    let labels: Vec<String> = items.iter().map(|(l, _, _)| clean(l.as_ref())).collect();
    let RowFrame {
        plot_x,
        label_lines,
        xs,
        ticks,
        rows_top,
        axis_y,
        frame,
    } = row_frame(
        &mut svg,
        title,
        &labels,
        (lo, hi),
        &TickFmt::With(x_fmt),
        ROW_PITCH,
    );
    svg.line(
        "zero",
        (xs.at(0.0), rows_top),
        (xs.at(0.0), axis_y),
        Stroke::solid(AXIS_INK, 1.0),
    );
    let ci = Stroke::solid(INK, 1.3);
    for (i, ((d, iv), lines)) in rows.iter().zip(&label_lines).enumerate() {
        let yc = rows_top + (i as f64 + 0.5) * ROW_PITCH;
        draw_row_label(&mut svg, lines, plot_x - 10.0, yc);
        if let Some((a, b)) = iv {
            let (xa, xb) = (xs.at(*a), xs.at(*b));
            svg.line("ci", (xa, yc), (xb, yc), ci);
            for x in [xa, xb] {
                svg.line("ci", (x, yc - 5.0), (x, yc + 5.0), ci);
            }
        }
        if let Some(d) = d {
            svg.circle("difference", (xs.at(*d), yc), 4.0, PALETTE[0], INK);
        }
    }
    let bottom = draw_bottom_axis(&mut svg, frame, &xs, &ticks, x_label);
    let legend = [
        LegendEntry::new(Swatch::Dot(PALETTE[0]), "Difference from the reference"),
        LegendEntry::new(Swatch::Whisker(INK), interval_label),
    ];
    let bottom = draw_legend(&mut svg, &legend, plot_x, WIDTH - PAD, bottom + 2.0 * GAP);
    svg.finish(title, WIDTH, bottom + PAD)
}

/// The frame of a chart with one labelled row per item over an x axis.
struct RowFrame {
    /// Right edge of the row labels' column (labels end 10 px left of it).
    plot_x: f64,
    /// Each row's label, wrapped.
    label_lines: Vec<Vec<String>>,
    xs: Scale,
    ticks: Ticks,
    /// Top of the first row and the y of the x axis.
    rows_top: f64,
    axis_y: f64,
    /// The plot area of the rows, its grid drawn.
    frame: Rect,
}

/// Draw the title and x grid of a row chart: a column for the wrapped `labels`, x ticks fitted to
/// `range` in the space left, and one row per label `pitch` apart.
fn row_frame(
    svg: &mut Svg,
    title: &str,
    labels: &[String],
    (lo, hi): (f64, f64),
    fmt: &TickFmt,
    pitch: f64,
) -> RowFrame {
    let top = draw_title(svg, title, WIDTH);
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let (label_w, label_lines) = row_labels(&label_refs);
    let plot_x = PAD + label_w + 10.0;
    let mut inner = Rect {
        x: plot_x + GAP,
        y: 0.0,
        w: WIDTH - PAD - GAP - (plot_x + GAP),
        h: 0.0,
    };
    let ticks = fit_x_ticks(lo, hi, &mut inner, fmt, PAD, WIDTH - PAD);
    let xs = Scale::new(ticks.lo(), ticks.hi(), inner.x, inner.right());
    let rows_top = top + GAP;
    let axis_y = rows_top + labels.len() as f64 * pitch + GAP;
    let frame = Rect {
        x: inner.x,
        y: rows_top,
        w: inner.w,
        h: axis_y - rows_top,
    };
    draw_x_grid(svg, frame, &xs, &ticks);
    RowFrame {
        plot_x,
        label_lines,
        xs,
        ticks,
        rows_top,
        axis_y,
        frame,
    }
}

/// Rasterise one of these charts to PNG at `scale` times its size.
///
/// Text is drawn with an installed sans-serif font (DejaVu Sans, Liberation Sans, Arial, Helvetica
/// or Noto Sans, in that order of preference, else any installed font); the system's fonts are
/// indexed once per process. Fails when the SVG does not parse, the scale gives an empty or
/// oversized image, or no font is installed (the text would silently vanish otherwise).
#[cfg(feature = "png")]
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    use std::sync::{Arc, OnceLock};

    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        let has = |name: &str| {
            db.faces()
                .any(|f| f.families.iter().any(|(family, _)| family == name))
        };
        let preferred = [
            "DejaVu Sans",
            "Liberation Sans",
            "Arial",
            "Helvetica",
            "Noto Sans",
        ];
        let chosen = preferred
            .iter()
            .find(|name| has(name))
            .map(|name| name.to_string())
            .or_else(|| {
                db.faces()
                    .find_map(|f| f.families.first().map(|(family, _)| family.clone()))
            });
        if let Some(family) = chosen {
            // Every fallback in usvg's selection ends with the serif family, so point both at
            // the chosen font.
            db.set_sans_serif_family(family.clone());
            db.set_serif_family(family);
        }
        Arc::new(db)
    });
    if fonts.is_empty() {
        return Err("no system font found: the chart's text cannot be rendered".to_string());
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!("scale must be a positive number, got {scale}"));
    }
    let options = usvg::Options {
        fontdb: Arc::clone(fonts),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| format!("invalid SVG: {e}"))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil(),
        (size.height() * scale).ceil(),
    );
    const MAX_SIDE: f32 = 16_384.0;
    if !(w >= 1.0 && h >= 1.0 && w <= MAX_SIDE && h <= MAX_SIDE) {
        return Err(format!(
            "a {w}×{h} pixel image is out of range (1 to {MAX_SIDE} pixels a side)"
        ));
    }
    let mut pixmap = tiny_skia::Pixmap::new(w as u32, h as u32)
        .ok_or_else(|| format!("cannot allocate a {w}×{h} pixel image"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("PNG encoding failed: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Data preparation

/// Finite and small enough that spans and pixel positions stay finite.
fn usable(v: f64) -> bool {
    v.is_finite() && v.abs() < 1e300
}

fn finite(v: f64) -> Option<f64> {
    usable(v).then_some(v)
}

/// Histogram bins of a sorted, non-empty sample.
struct Bins {
    start: f64,
    /// Zero when every draw is equal (one bin holding all of them).
    width: f64,
    counts: Vec<usize>,
}

impl Bins {
    /// Bin width 2·IQR/n^(1/3) (Freedman & Diaconis, 1981), as a count between 10 and 80; when
    /// the IQR is zero (a sample mostly at one value), Sturges' count ⌈log2 n⌉ + 1 in the same
    /// range.
    fn freedman_diaconis(v: &[f64]) -> Bins {
        let n = v.len();
        let (min, max) = (v[0], v[n - 1]);
        if max <= min {
            return Bins {
                start: min,
                width: 0.0,
                counts: vec![n],
            };
        }
        let iqr = quantile(v, 0.75) - quantile(v, 0.25);
        let h = 2.0 * iqr / (n as f64).cbrt();
        let k = if h > 0.0 {
            ((max - min) / h).ceil()
        } else {
            (n as f64).log2().ceil() + 1.0
        };
        // `as` saturates, so a huge ratio lands on the cap.
        let k = (k as usize).clamp(10, 80);
        let width = (max - min) / k as f64;
        let mut counts = vec![0; k];
        for &x in v {
            let i = ((x - min) / width) as usize;
            counts[i.min(k - 1)] += 1;
        }
        Bins {
            start: min,
            width,
            counts,
        }
    }
}

/// Quantile of a sorted sample by linear interpolation between order statistics (Hyndman & Fan
/// type 7, the default of R and NumPy).
fn quantile(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let i = h.floor() as usize;
    match v.get(i + 1) {
        Some(next) => v[i] + (h - i as f64) * (next - v[i]),
        None => v[i],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// A tornado row's value label: its text, the value it is anchored at, on which side of that
/// point it extends, and its colour (that of its bar).
struct EndLabel {
    text: String,
    at: f64,
    side: Side,
    ink: &'static str,
}

fn end_labels(
    base: f64,
    low: Option<f64>,
    high: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> Vec<EndLabel> {
    let side_of = |v: f64| if v < base { Side::Left } else { Side::Right };
    let flip = |s: Side| match s {
        Side::Left => Side::Right,
        Side::Right => Side::Left,
    };
    let label = |v: f64, at: f64, side: Side, ink: &'static str| EndLabel {
        text: fmt(v),
        at,
        side,
        ink,
    };
    match (low, high) {
        (Some(l), Some(h)) => {
            let ((near, near_ink), (far, far_ink)) = if (l - base).abs() <= (h - base).abs() {
                ((l, LOW_INK), (h, HIGH_INK))
            } else {
                ((h, HIGH_INK), (l, LOW_INK))
            };
            let far_side = side_of(far);
            let near_side = if near == base {
                flip(far_side)
            } else {
                side_of(near)
            };
            let near_label = if near_side == far_side {
                // Same side as the far end: put the label on the empty side of the base line.
                label(near, base, flip(far_side), near_ink)
            } else {
                label(near, near, near_side, near_ink)
            };
            vec![near_label, label(far, far, far_side, far_ink)]
        }
        (Some(v), None) => vec![label(v, v, side_of(v), LOW_INK)],
        (None, Some(v)) => vec![label(v, v, side_of(v), HIGH_INK)],
        (None, None) => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Text: cleaning, escaping, measuring, wrapping

/// Control characters (not allowed in XML) and runs of whitespace become one space.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Advance width of a character in ems, rounded up from DejaVu Sans. Arial, Helvetica and
/// Liberation Sans are narrower, so layouts made with these widths hold for them too.
fn char_em(c: char) -> f64 {
    match c {
        ' ' => 0.32,
        'i' | 'j' | 'l' | 'I' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | '·' => 0.34,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '{' | '}' | '-' | '/' | '\\' | '"' | '`' => 0.46,
        '*' | '_' | '^' | '?' | '–' => 0.6,
        'm' | 'W' | '%' | '@' | '—' | '…' | '‰' => 1.02,
        'w' | 'M' => 0.88,
        '+' | '=' | '<' | '>' | '#' | '~' | '×' | '±' | '≤' | '≥' | '&' => 0.84,
        'A'..='Z' => 0.79,
        c if c.is_ascii() => 0.64,
        '£' | '€' | '¥' => 0.64,
        _ => 1.0,
    }
}

/// Estimated width in pixels of `s` at `size` pixels.
fn text_width(s: &str, size: f64, bold: bool) -> f64 {
    let em: f64 = s.chars().map(char_em).sum();
    em * size * if bold { BOLD_FACTOR } else { 1.0 }
}

/// `s`, or its longest prefix that fits in `max_w` followed by an ellipsis.
fn ellipsize(s: &str, size: f64, bold: bool, max_w: f64) -> String {
    if text_width(s, size, bold) <= max_w {
        s.to_string()
    } else {
        cut_with_ellipsis(s, size, bold, max_w)
    }
}

/// The longest prefix of `s` that fits in `max_w` with an ellipsis after it (empty if not even
/// the ellipsis fits).
fn cut_with_ellipsis(s: &str, size: f64, bold: bool, max_w: f64) -> String {
    let scale = size * if bold { BOLD_FACTOR } else { 1.0 };
    let budget = max_w - char_em('…') * scale;
    if budget < 0.0 {
        return String::new();
    }
    let mut used = 0.0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        used += char_em(c) * scale;
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}…", s[..end].trim_end())
}

/// Lines of a wrapped label.
struct Wrapped {
    lines: Vec<String>,
    /// Whether the text had to be cut (the last line ends with an ellipsis).
    cut: bool,
    /// Whether a word had to be broken because it is wider than a line.
    broken: bool,
}

/// Greedy word wrap of `s` into at most `max_lines` lines of at most `max_w` pixels; the rest is
/// replaced by an ellipsis.
fn wrap(s: &str, size: f64, bold: bool, max_w: f64, max_lines: usize) -> Wrapped {
    let s = clean(s);
    let scale = size * if bold { BOLD_FACTOR } else { 1.0 };
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut broken = false;
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if text_width(&candidate, size, bold) <= max_w {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        let mut rest = word;
        while text_width(rest, size, bold) > max_w {
            broken = true;
            let mut used = 0.0;
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                used += char_em(c) * scale;
                if used > max_w && end > 0 {
                    break;
                }
                end = i + c.len_utf8();
            }
            lines.push(rest[..end].to_string());
            rest = &rest[end..];
        }
        current = rest.to_string();
    }
    if !current.is_empty() {
        lines.push(current);
    }
    let max_lines = max_lines.max(1);
    if lines.len() <= max_lines {
        return Wrapped {
            lines,
            cut: false,
            broken,
        };
    }
    let rest = lines[max_lines - 1..].join(" ");
    lines.truncate(max_lines - 1);
    lines.push(cut_with_ellipsis(&rest, size, bold, max_w));
    Wrapped {
        lines,
        cut: true,
        broken,
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn right(&self) -> f64 {
        self.x + self.w
    }
    fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        Scale { d0, d1, r0, r1 }
    }
    fn at(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn offset(self, w: f64) -> f64 {
        match self {
            Anchor::Start => 0.0,
            Anchor::Middle => w / 2.0,
            Anchor::End => w,
        }
    }
}

/// The four corners of the box that text is assumed to occupy: `text_width` wide, from `ASCENT`
/// above to `DESCENT` below the baseline, rotated by `angle` degrees (clockwise on screen, as
/// SVG's `rotate`) about the anchor point `(x, y)`.
fn text_corners(x: f64, y: f64, w: f64, size: f64, anchor: Anchor, angle: f64) -> [(f64, f64); 4] {
    let left = x - anchor.offset(w);
    let (top, bottom) = (y - ASCENT * size, y + DESCENT * size);
    let corners = [
        (left, top),
        (left + w, top),
        (left + w, bottom),
        (left, bottom),
    ];
    if angle == 0.0 {
        return corners;
    }
    let (sin, cos) = angle.to_radians().sin_cos();
    corners.map(|(px, py)| {
        let (dx, dy) = (px - x, py - y);
        (x + dx * cos - dy * sin, y + dx * sin + dy * cos)
    })
}

/// The baseline offset that centres a line of text vertically on a point.
fn centre_shift(size: f64) -> f64 {
    (ASCENT - DESCENT) / 2.0 * size
}

/// The x at which centred text of width `w` stays within `[min_x, max_x]`.
fn clamp_centre(x: f64, w: f64, min_x: f64, max_x: f64) -> f64 {
    x.min(max_x - w / 2.0).max(min_x + w / 2.0)
}

// ---------------------------------------------------------------------------------------------
// Axes

/// Tick positions and their labels; the first and last tick are the ends of the axis.
struct Ticks {
    values: Vec<f64>,
    labels: Vec<String>,
}

impl Ticks {
    fn lo(&self) -> f64 {
        self.values[0]
    }
    fn hi(&self) -> f64 {
        self.values[self.values.len() - 1]
    }
    fn max_width(&self, size: f64) -> f64 {
        self.labels
            .iter()
            .map(|l| text_width(l, size, false))
            .fold(0.0, f64::max)
    }
    fn percent_quarters() -> Ticks {
        let values = vec![0.0, 0.25, 0.5, 0.75, 1.0];
        let labels = ["0%", "25%", "50%", "75%", "100%"]
            .map(String::from)
            .to_vec();
        Ticks { values, labels }
    }
}

enum TickFmt<'a> {
    /// The caller's formatter.
    With(&'a dyn Fn(f64) -> String),
    /// Fractions shown as percentages, with the decimals the step needs.
    Percent,
    /// Plain numbers with the decimals the step needs.
    Plain,
}

impl TickFmt<'_> {
    fn label(&self, v: f64, step: f64) -> String {
        match self {
            TickFmt::With(f) => f(v),
            TickFmt::Percent => format!("{:.*}%", decimals(step * 100.0), v * 100.0),
            TickFmt::Plain => format!("{:.*}", decimals(step), v),
        }
    }
}

/// The fewest decimals that write multiples of `step` exactly.
fn decimals(step: f64) -> usize {
    (0..=12)
        .find(|&d| {
            let x = step * 10f64.powi(d as i32);
            (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
        })
        .unwrap_or(12)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orient {
    Horizontal,
    Vertical,
}

/// A non-empty range: a zero-width one is widened around its value.
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    let mag = lo.abs().max(hi.abs());
    if hi > lo && hi - lo > mag * 1e-9 {
        return (lo, hi);
    }
    let c = (lo + hi) / 2.0;
    let d = if mag == 0.0 { 1.0 } else { mag * 0.1 };
    (c - d, c + d)
}

/// "Nice" ticks covering `[lo, hi]`: the finest step of 1, 2, 2.5 or 5 × 10^k whose labels fit
/// the axis without touching, are all different, and say exactly what the tick is.
///
/// The last test is what stops a 2.5 step with a one-decimal formatter ("0.2", "0.5", "0.8" for
/// 0.25, 0.5, 0.75): for each tick t, the formatter must tell t from t ± u, where u is the unit of
/// the step's last digit. If no step passes, the coarsest one is used and its labels are cut to
/// fit.
fn choose_ticks(lo: f64, hi: f64, axis_px: f64, fmt: &TickFmt, orient: Orient) -> Ticks {
    let (lo, hi) = widen(lo, hi);
    let k0 = (hi - lo).log10().floor() as i32;
    // When no step passes every test: the finest step whose labels fit and differ, else the
    // coarsest whose labels fit, else the coarsest.
    let mut fallback: Option<(u8, Ticks, f64)> = None;
    for k in (k0 - 2)..=(k0 + 1) {
        let unit = 10f64.powi(k);
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * unit;
            let i0 = (lo / step + 1e-9).floor() as i64;
            let i1 = (hi / step - 1e-9).ceil() as i64;
            let count = i1 - i0 + 1;
            if !(2..=40).contains(&count) {
                continue;
            }
            let values: Vec<f64> = (i0..=i1).map(|i| i as f64 * step).collect();
            let labels: Vec<String> = values.iter().map(|&v| fmt.label(v, step)).collect();
            let spacing = axis_px / (count - 1) as f64;
            let ticks = Ticks { values, labels };
            let fits = match orient {
                Orient::Horizontal => spacing >= (ticks.max_width(TICK_SIZE) + 12.0).max(48.0),
                Orient::Vertical => spacing >= 30.0,
            };
            let distinct = ticks.labels.windows(2).all(|w| w[0] != w[1]);
            let exact = match fmt {
                TickFmt::With(f) => {
                    let u = if m == 2.5 { unit / 10.0 } else { unit };
                    ticks.values.iter().all(|&t| {
                        let (a, b, c) = (f(t - u), f(t), f(t + u));
                        a != b && b != c && a != c
                    })
                }
                _ => true,
            };
            if fits && distinct && exact {
                return ticks;
            }
            let rank = match (fits, distinct) {
                (true, true) => 2,
                (true, false) => 1,
                _ => 0,
            };
            let better = match &fallback {
                None => true,
                Some((best, ..)) => rank > *best || (rank == *best && rank < 2),
            };
            if better {
                fallback = Some((rank, ticks, spacing));
            }
        }
    }
    // Unreachable in practice: the coarsest steps always give two or three ticks.
    let (_, mut ticks, spacing) = fallback.unwrap_or_else(|| {
        let labels = vec![fmt.label(lo, hi - lo), fmt.label(hi, hi - lo)];
        (
            0,
            Ticks {
                values: vec![lo, hi],
                labels,
            },
            axis_px,
        )
    });
    if orient == Orient::Horizontal {
        for l in &mut ticks.labels {
            *l = ellipsize(l, TICK_SIZE, false, spacing - 12.0);
        }
    }
    ticks
}

/// Ticks for a horizontal axis drawn along `plot`, narrowing the plot until the outermost tick
/// labels (centred on the ends of the axis) stay within `[min_x, max_x]`.
fn fit_x_ticks(lo: f64, hi: f64, plot: &mut Rect, fmt: &TickFmt, min_x: f64, max_x: f64) -> Ticks {
    let mut ticks = choose_ticks(lo, hi, plot.w, fmt, Orient::Horizontal);
    for _ in 0..6 {
        let half = |l: &String| text_width(l, TICK_SIZE, false) / 2.0;
        let over_left = (min_x - (plot.x - half(&ticks.labels[0]))).max(0.0);
        let over_right =
            (plot.right() + half(&ticks.labels[ticks.labels.len() - 1]) - max_x).max(0.0);
        if over_left == 0.0 && over_right == 0.0 {
            break;
        }
        plot.x += over_left;
        plot.w -= over_left + over_right;
        ticks = choose_ticks(lo, hi, plot.w, fmt, Orient::Horizontal);
    }
    ticks
}

/// Room left of the plot for a rotated axis label and the y tick labels.
fn y_axis_room(ticks: &Ticks) -> f64 {
    PAD + rotated_label_band() + ticks.max_width(TICK_SIZE) + TICK_LEN + GAP
}

/// Horizontal room taken by a rotated axis label and its gap.
fn rotated_label_band() -> f64 {
    (ASCENT + DESCENT) * LABEL_SIZE + 2.0 * GAP
}

// ---------------------------------------------------------------------------------------------
// Drawing blocks

fn draw_title(svg: &mut Svg, title: &str, width: f64) -> f64 {
    let lines = wrap(title, TITLE_SIZE, true, width - 2.0 * PAD, 2).lines;
    let pitch = TITLE_SIZE * 1.25;
    let mut baseline = PAD + ASCENT * TITLE_SIZE;
    for line in &lines {
        let style = Style::new(TITLE_SIZE, Anchor::Middle).bold();
        svg.text("title", width / 2.0, baseline, line, style);
        baseline += pitch;
    }
    baseline - pitch + DESCENT * TITLE_SIZE + 12.0
}

/// Horizontal grid lines at the ticks of a vertical axis.
fn draw_y_grid(svg: &mut Svg, plot: Rect, ys: &Scale, ticks: &Ticks) {
    for &t in &ticks.values {
        let y = ys.at(t);
        svg.line(
            "grid",
            (plot.x, y),
            (plot.right(), y),
            Stroke::solid(GRID, 1.0),
        );
    }
}

/// Vertical grid lines at the ticks of a horizontal axis.
fn draw_x_grid(svg: &mut Svg, plot: Rect, xs: &Scale, ticks: &Ticks) {
    for &t in &ticks.values {
        let x = xs.at(t);
        svg.line(
            "grid",
            (x, plot.y),
            (x, plot.bottom()),
            Stroke::solid(GRID, 1.0),
        );
    }
}

/// The left axis line, its ticks and labels, and its rotated title.
fn draw_left_axis(svg: &mut Svg, plot: Rect, ys: &Scale, ticks: &Ticks, label: &str) {
    let stroke = Stroke::solid(AXIS_INK, 1.0);
    svg.line("axis", (plot.x, plot.y), (plot.x, plot.bottom()), stroke);
    for (t, text) in ticks.values.iter().zip(&ticks.labels) {
        let y = ys.at(*t);
        svg.line("tick", (plot.x - TICK_LEN, y), (plot.x, y), stroke);
        svg.text(
            "tick-label",
            plot.x - TICK_LEN - GAP,
            y + centre_shift(TICK_SIZE),
            text,
            Style::new(TICK_SIZE, Anchor::End),
        );
    }
    draw_rotated_label(svg, PAD + ASCENT * LABEL_SIZE, plot, label);
}

/// An axis title turned to read bottom to top, centred on the plot's height and cut to it.
fn draw_rotated_label(svg: &mut Svg, x: f64, plot: Rect, label: &str) {
    let text = ellipsize(&clean(label), LABEL_SIZE, false, plot.h);
    let style = Style::new(LABEL_SIZE, Anchor::Middle).rotated(-90.0);
    svg.text("axis-label", x, plot.y + plot.h / 2.0, &text, style);
}

/// The bottom axis line, its ticks and labels, and its title; returns the bottom of the text.
fn draw_bottom_axis(svg: &mut Svg, plot: Rect, xs: &Scale, ticks: &Ticks, label: &str) -> f64 {
    let stroke = Stroke::solid(AXIS_INK, 1.0);
    let y = plot.bottom();
    svg.line("axis", (xs.r0, y), (xs.r1, y), stroke);
    let baseline = y + TICK_LEN + GAP + ASCENT * TICK_SIZE;
    for (t, text) in ticks.values.iter().zip(&ticks.labels) {
        let x = xs.at(*t);
        svg.line("tick", (x, y), (x, y + TICK_LEN), stroke);
        svg.text(
            "tick-label",
            x,
            baseline,
            text,
            Style::new(TICK_SIZE, Anchor::Middle),
        );
    }
    draw_x_label(svg, plot, baseline + DESCENT * TICK_SIZE, label)
}

/// An axis title centred under the plot, starting below `top`; returns the bottom of the text.
fn draw_x_label(svg: &mut Svg, plot: Rect, top: f64, label: &str) -> f64 {
    let text = ellipsize(&clean(label), LABEL_SIZE, false, plot.w);
    if text.is_empty() {
        return top;
    }
    let baseline = top + 2.0 * GAP + ASCENT * LABEL_SIZE;
    let style = Style::new(LABEL_SIZE, Anchor::Middle);
    svg.text("axis-label", plot.x + plot.w / 2.0, baseline, &text, style);
    baseline + DESCENT * LABEL_SIZE
}

/// Width of the row-label column and each label's lines: the longest label, up to
/// `MAX_ROW_LABEL_W`; longer labels take two lines, then an ellipsis.
fn row_labels(labels: &[&str]) -> (f64, Vec<Vec<String>>) {
    let widest = labels
        .iter()
        .map(|l| text_width(l, ROW_SIZE, false))
        .fold(0.0, f64::max);
    let w = widest.min(MAX_ROW_LABEL_W);
    let lines = labels
        .iter()
        .map(|l| wrap(l, ROW_SIZE, false, w, 2).lines)
        .collect();
    (w, lines)
}

/// A row label right-aligned at `x_right`, its lines centred on `yc`.
fn draw_row_label(svg: &mut Svg, lines: &[String], x_right: f64, yc: f64) {
    let pitch = ROW_SIZE * 1.2;
    let first = yc - (lines.len() as f64 - 1.0) * pitch / 2.0 + centre_shift(ROW_SIZE);
    for (k, line) in lines.iter().enumerate() {
        let style = Style::new(ROW_SIZE, Anchor::End);
        svg.text("row-label", x_right, first + k as f64 * pitch, line, style);
    }
}

/// How the category labels under a plot are written.
struct Categories {
    /// Width given to each category.
    slot: f64,
    /// The lines of each label.
    lines: Vec<Vec<String>>,
    /// 0 for level labels, else the rotation in degrees (−45 or −90).
    angle: f64,
    /// How far below the plot's bottom the anchors are put, so the text clears the axis.
    dy: f64,
    /// Height taken below the plot's bottom.
    height: f64,
}

impl Categories {
    /// Level labels if every label fits its slot in two lines without breaking a word, else
    /// labels slanted at −45° if neighbours clear each other, else vertical ones; slanted labels
    /// take two lines where the slot has room for them, then an ellipsis.
    fn layout(labels: &[String], slot: f64) -> Categories {
        let size = TICK_SIZE;
        let thickness = (ASCENT + DESCENT) * size;
        let pitch = size * 1.2;
        let level: Vec<Wrapped> = labels
            .iter()
            .map(|l| wrap(l, size, false, slot - 8.0, 2))
            .collect();
        let (angle, lines) = if level.iter().all(|w| !w.cut && !w.broken) {
            (0.0, level.into_iter().map(|w| w.lines).collect())
        } else {
            // Neighbouring slanted labels are parallel strips `slot · sin(angle)` apart.
            let room = |angle: f64| slot * angle.to_radians().sin().abs() - 3.0;
            let angle = if room(-45.0) >= thickness {
                -45.0
            } else {
                -90.0
            };
            let max_lines = if room(angle) >= thickness + pitch {
                2
            } else {
                1
            };
            let lines = labels
                .iter()
                .map(|l| wrap(l, size, false, MAX_CATEGORY_LABEL_W, max_lines).lines)
                .collect();
            (angle, lines)
        };
        let mut cats = Categories {
            slot,
            lines,
            angle,
            dy: 0.0,
            height: 0.0,
        };
        let (mut top, mut bottom) = (0.0_f64, 0.0_f64);
        for i in 0..cats.lines.len() {
            for (_, y) in cats.corners(i, 0.0, 0.0).into_iter().flatten() {
                top = top.min(y);
                bottom = bottom.max(y);
            }
        }
        cats.dy = TICK_LEN + GAP - top;
        cats.height = cats.dy + bottom;
        cats
    }

    fn anchor(&self) -> Anchor {
        if self.angle == 0.0 {
            Anchor::Middle
        } else {
            Anchor::End
        }
    }

    /// Anchor points of the lines of label `i`, for a plot whose left edge is `x0` and whose
    /// labels' anchors start at `y0`.
    fn anchors(&self, i: usize, x0: f64, y0: f64) -> Vec<(f64, f64)> {
        let size = TICK_SIZE;
        let pitch = size * 1.2;
        let cx = x0 + (i as f64 + 0.5) * self.slot;
        let n = self.lines[i].len();
        if self.angle == 0.0 {
            return (0..n).map(|k| (cx, y0 + k as f64 * pitch)).collect();
        }
        // Lines follow each other across the text direction, centred on the slot; a vertical
        // label is shifted so its box, not its baseline, is centred.
        let (sin, cos) = self.angle.to_radians().sin_cos();
        let shift = if self.angle == -90.0 {
            centre_shift(size)
        } else {
            0.0
        };
        (0..n)
            .map(|k| {
                let t = (k as f64 - (n as f64 - 1.0) / 2.0) * pitch;
                (cx + shift - t * sin, y0 + t * cos)
            })
            .collect()
    }

    /// Boxes of the lines of label `i`, placed as in `anchors`.
    fn corners(&self, i: usize, x0: f64, y0: f64) -> Vec<[(f64, f64); 4]> {
        self.anchors(i, x0, y0)
            .iter()
            .zip(&self.lines[i])
            .map(|(&(x, y), line)| {
                let w = text_width(line, TICK_SIZE, false);
                text_corners(x, y, w, TICK_SIZE, self.anchor(), self.angle)
            })
            .collect()
    }

    /// How far the labels reach left of the plot's left edge.
    fn overhang_left(&self) -> f64 {
        (0..self.lines.len())
            .flat_map(|i| self.corners(i, 0.0, self.dy))
            .flatten()
            .fold(0.0, |reach: f64, (x, _)| reach.max(-x))
    }
}

/// The plot rectangle (at y = 0) and category labels of a chart with one slot per category: at
/// least `min_slot` pixels a slot (the chart grows wider when needed), and a left margin that
/// takes in both the y axis and the reach of slanted labels.
fn category_layout(labels: &[String], y_room: f64, min_slot: f64) -> (Rect, Categories) {
    let n = labels.len().max(1) as f64;
    let mut left = y_room;
    let mut cats;
    let mut plot_w;
    let mut tries = 0;
    loop {
        plot_w = (WIDTH - left - PAD).max(n * min_slot);
        cats = Categories::layout(labels, plot_w / n);
        let needed = PAD + cats.overhang_left();
        tries += 1;
        if needed <= left || tries == 4 {
            break;
        }
        left = needed;
    }
    let plot = Rect {
        x: left,
        y: 0.0,
        w: plot_w,
        h: PLOT_H,
    };
    (plot, cats)
}

/// The category labels under the plot; returns the bottom of the text.
fn draw_categories(svg: &mut Svg, plot: Rect, cats: &Categories) -> f64 {
    let y0 = plot.bottom();
    let stroke = Stroke::solid(AXIS_INK, 1.0);
    svg.line("axis", (plot.x, y0), (plot.right(), y0), stroke);
    let style = Style::new(TICK_SIZE, cats.anchor()).rotated(cats.angle);
    for (i, lines) in cats.lines.iter().enumerate() {
        for ((x, y), line) in cats.anchors(i, plot.x, y0 + cats.dy).into_iter().zip(lines) {
            svg.text("category-label", x, y, line, style);
        }
    }
    y0 + cats.height
}

#[derive(Debug, Clone, Copy)]
enum Swatch {
    Fill(&'static str),
    Line(&'static str, Option<&'static str>),
    Dot(&'static str),
    Whisker(&'static str),
}

struct LegendEntry {
    swatch: Swatch,
    label: String,
}

impl LegendEntry {
    fn new(swatch: Swatch, label: &str) -> LegendEntry {
        let label = ellipsize(&clean(label), LEGEND_SIZE, false, MAX_LEGEND_LABEL_W);
        LegendEntry { swatch, label }
    }
}

/// Legend entries in rows from `x0`, wrapping before `x1`; returns the bottom of the legend.
fn draw_legend(svg: &mut Svg, entries: &[LegendEntry], x0: f64, x1: f64, top: f64) -> f64 {
    const SWATCH: f64 = 18.0;
    const ROW: f64 = 20.0;
    if entries.is_empty() {
        return top;
    }
    let (mut x, mut row) = (x0, 0);
    for e in entries {
        let w = SWATCH + 6.0 + text_width(&e.label, LEGEND_SIZE, false);
        if x > x0 && x + w > x1 {
            x = x0;
            row += 1;
        }
        let yc = top + row as f64 * ROW + ROW / 2.0;
        match e.swatch {
            Swatch::Fill(c) => {
                let r = Rect {
                    x,
                    y: yc - 6.0,
                    w: SWATCH,
                    h: 12.0,
                };
                svg.rect("legend-swatch", r, c, None);
            }
            Swatch::Line(c, dash) => {
                let stroke = Stroke {
                    colour: c,
                    width: 2.5,
                    dash,
                };
                svg.line("legend-swatch", (x, yc), (x + SWATCH, yc), stroke);
            }
            Swatch::Dot(c) => {
                svg.circle("legend-swatch", (x + SWATCH / 2.0, yc), 3.5, "#ffffff", c)
            }
            Swatch::Whisker(c) => {
                let stroke = Stroke::solid(c, 1.3);
                svg.line(
                    "legend-swatch",
                    (x + 2.0, yc),
                    (x + SWATCH - 2.0, yc),
                    stroke,
                );
                for xe in [x + 2.0, x + SWATCH - 2.0] {
                    svg.line("legend-swatch", (xe, yc - 4.0), (xe, yc + 4.0), stroke);
                }
            }
        }
        let style = Style::new(LEGEND_SIZE, Anchor::Start);
        svg.text(
            "legend",
            x + SWATCH + 6.0,
            yc + centre_shift(LEGEND_SIZE),
            &e.label,
            style,
        );
        x += w + 18.0;
    }
    top + (row + 1) as f64 * ROW
}

/// Where a marker's label goes: a row above the plot (0 nearest), where its text is anchored and
/// whether it sits on top of the marker's line rather than beside it.
#[derive(Debug, Clone)]
struct PlacedLabel {
    row: usize,
    anchor: Anchor,
    x: f64,
    on_top: bool,
    text: String,
}

/// How a marker's label is attached to its line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Attach {
    /// Beside the line, which rises to the middle of the label's row; the label starts (`Start`)
    /// or ends (`End`) a little away from it.
    Beside(Anchor),
    /// On top of the line, which stops just under the label; the label starts at `start`.
    OnTop { start: f64 },
}

/// How far a label on top of its line reaches past the line at least.
const OVER: f64 = 2.0;

impl Attach {
    /// The text's anchor, anchor x and horizontal extent for a label of width `w` on the line at
    /// `x`.
    fn place(self, x: f64, w: f64) -> (Anchor, f64, (f64, f64)) {
        match self {
            Attach::Beside(Anchor::End) => (Anchor::End, x - GAP, (x - GAP - w, x - GAP)),
            Attach::Beside(_) => (Anchor::Start, x + GAP, (x + GAP, x + GAP + w)),
            Attach::OnTop { start } => (Anchor::Start, start, (start, start + w)),
        }
    }
}

/// Stagger marker labels (text, x in pixels) in rows above the plot.
///
/// Rules: labels in one row never overlap (always kept); a label does not cover another marker's
/// line where that line passes through the label's row, and a line does not cross labels in the
/// rows below its own (kept whenever possible). If label i covers marker j's position, j's label
/// must go in a lower row; these constraints are satisfiable exactly when they have no cycle, and
/// then placing labels with covered markers first, each in the lowest row that works, keeps
/// every rule.
///
/// Labels sit beside their line, facing right unless that leaves the canvas: a right-facing label
/// only covers markers to its right, so a cluster of close markers becomes a staircase. When
/// labels facing each other would cover each other, more markers on the right face left; failing
/// that, labels that fit on one side only move on top of their line, facing the other way; failing
/// that, labels move on top of their line between its neighbours where they fit there.
fn place_marker_labels(markers: &[(String, f64)], min_x: f64, max_x: f64) -> Vec<PlacedLabel> {
    let n = markers.len();
    let prepared: Vec<(String, f64)> = markers
        .iter()
        .map(|(label, _)| {
            let text = ellipsize(label, ANNOT_SIZE, false, MAX_MARKER_LABEL_W);
            let w = text_width(&text, ANNOT_SIZE, false);
            (text, w)
        })
        .collect();
    let x = |i: usize| markers[i].1;
    let fits = |i: usize, a: Attach| {
        let (_, _, span) = a.place(x(i), prepared[i].1);
        span.0 >= min_x && span.1 <= max_x
    };
    let mut by_x: Vec<usize> = (0..n).collect();
    by_x.sort_by(|&a, &b| x(a).total_cmp(&x(b)).then(a.cmp(&b)));

    let right = Attach::Beside(Anchor::Start);
    let left = Attach::Beside(Anchor::End);
    let prefer_right = |i: usize| {
        if fits(i, right) || !fits(i, left) {
            right
        } else {
            left
        }
    };
    // Beside, facing right wherever it fits; then markers from the k-th (in x order) on facing
    // left where that fits, for k from n down to 0.
    let mut candidates: Vec<Vec<Attach>> = vec![(0..n).map(prefer_right).collect()];
    for k in (0..n).rev() {
        let mut choice: Vec<Attach> = (0..n).map(prefer_right).collect();
        for &i in &by_x[k..] {
            if fits(i, left) {
                choice[i] = left;
            }
        }
        candidates.push(choice);
    }
    // The same with one-sided labels on top of their line, facing the other way.
    let flipped: Vec<Vec<Attach>> = candidates
        .iter()
        .map(|choice| {
            (0..n)
                .map(|i| {
                    let a = choice[i];
                    let w = prepared[i].1;
                    let other = match a {
                        Attach::Beside(Anchor::Start) => Attach::OnTop {
                            start: x(i) + OVER - w,
                        },
                        _ => Attach::OnTop { start: x(i) - OVER },
                    };
                    let one_sided = !(fits(i, right) && fits(i, left));
                    if one_sided && fits(i, other) {
                        other
                    } else {
                        a
                    }
                })
                .collect()
        })
        .collect();
    candidates.extend(flipped);
    // Finally, labels that cover other markers moved on top of their own line, in the gap between
    // its neighbours when the gap is wide enough: a label that covers nothing cannot be part of
    // a cycle.
    let gap_fit = |i: usize| -> Option<Attach> {
        const CLEAR: f64 = 4.5;
        let w = prepared[i].1;
        let prev = (0..n)
            .filter(|&j| j != i && x(j) <= x(i))
            .map(|j| x(j) + CLEAR)
            .fold(min_x, f64::max);
        let next = (0..n)
            .filter(|&j| j != i && x(j) >= x(i))
            .map(|j| x(j) - CLEAR)
            .fold(max_x, f64::min);
        let lo = prev.max(x(i) + OVER - w);
        let hi = (next - w).min(x(i) - OVER);
        (lo <= hi).then(|| Attach::OnTop {
            start: (x(i) - w / 2.0).clamp(lo, hi),
        })
    };
    let gapped: Vec<Vec<Attach>> = candidates
        .iter()
        .map(|choice| {
            (0..n)
                .map(|i| {
                    let (_, _, span) = choice[i].place(x(i), prepared[i].1);
                    let covering = (0..n).any(|j| j != i && covers(span, x(j)));
                    match gap_fit(i) {
                        Some(a) if covering && !prepared[i].0.is_empty() => a,
                        _ => choice[i],
                    }
                })
                .collect()
        })
        .collect();
    candidates.extend(gapped);

    let layout = |choice: &[Attach]| -> Vec<(Anchor, f64, (f64, f64))> {
        (0..n)
            .map(|i| {
                let placed = choice[i].place(x(i), prepared[i].1);
                if prepared[i].0.is_empty() {
                    (placed.0, placed.1, (x(i), x(i)))
                } else {
                    placed
                }
            })
            .collect()
    };
    let finish = |choice: &[Attach], rows: &[usize]| {
        let placed = layout(choice);
        (0..n)
            .map(|i| PlacedLabel {
                row: rows[i],
                anchor: placed[i].0,
                x: placed[i].1,
                on_top: matches!(choice[i], Attach::OnTop { .. }),
                text: prepared[i].0.clone(),
            })
            .collect()
    };
    let spans_of =
        |choice: &[Attach]| -> Vec<(f64, f64)> { layout(choice).iter().map(|p| p.2).collect() };
    for choice in &candidates {
        let spans = spans_of(choice);
        if let Some(order) = covered_first(&spans, markers, &by_x, false) {
            let (rows, _) = stack_labels(&order, &spans, &prepared, markers);
            return finish(choice, &rows);
        }
    }
    // Cyclic whatever the attachment (long labels crowded together): keep the hard rule and break
    // the soft ones for as few labels as the candidates allow.
    let mut best: Option<(usize, usize, Vec<usize>)> = None;
    for (c, choice) in candidates.iter().enumerate() {
        let spans = spans_of(choice);
        let order = covered_first(&spans, markers, &by_x, true).unwrap_or_else(|| by_x.clone());
        let (rows, broken) = stack_labels(&order, &spans, &prepared, markers);
        if best.as_ref().is_none_or(|b| broken < b.1) {
            best = Some((c, broken, rows));
        }
    }
    match best {
        Some((c, _, rows)) => finish(&candidates[c], &rows),
        None => Vec::new(),
    }
}

/// Whether a label spanning `span` covers the line at `x` (with a little clearance).
fn covers(span: (f64, f64), x: f64) -> bool {
    const CLEAR: f64 = 4.0;
    span.0 < span.1 && span.0 - CLEAR < x && x < span.1 + CLEAR
}

/// An order in which every marker comes after all the markers its label covers, or `None` if the
/// covering relation has a cycle. Ties go in x order. With `relaxed`, a cycle is broken at the
/// marker with the fewest covered markers still to place.
fn covered_first(
    spans: &[(f64, f64)],
    markers: &[(String, f64)],
    by_x: &[usize],
    relaxed: bool,
) -> Option<Vec<usize>> {
    let n = spans.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let waiting = |i: usize| {
            (0..n)
                .filter(|&j| j != i && !done[j] && covers(spans[i], markers[j].1))
                .count()
        };
        let free = by_x.iter().copied().find(|&i| !done[i] && waiting(i) == 0);
        let next = match free {
            Some(i) => i,
            None if relaxed => by_x
                .iter()
                .copied()
                .filter(|&i| !done[i])
                .min_by_key(|&i| waiting(i))?,
            None => return None,
        };
        done[next] = true;
        order.push(next);
    }
    Some(order)
}

/// The row of each label: in `order`, the lowest row where it overlaps no label of that row and,
/// if possible, breaks no soft rule (see `place_marker_labels`). Also returns how many labels
/// had to break a soft rule.
fn stack_labels(
    order: &[usize],
    spans: &[(f64, f64)],
    prepared: &[(String, f64)],
    markers: &[(String, f64)],
) -> (Vec<usize>, usize) {
    const CLEAR: f64 = 4.0;
    let mut rows: Vec<Option<usize>> = vec![None; markers.len()];
    let mut broken = 0;
    for &i in order {
        let x = markers[i].1;
        let empty = prepared[i].0.is_empty();
        let placed: Vec<(usize, usize)> = rows
            .iter()
            .enumerate()
            .filter_map(|(j, r)| r.map(|r| (j, r)))
            .collect();
        let hard_ok = |row: usize| {
            empty
                || placed.iter().all(|&(j, r)| {
                    r != row
                        || prepared[j].0.is_empty()
                        || spans[i].1 + CLEAR <= spans[j].0
                        || spans[j].1 + CLEAR <= spans[i].0
                })
        };
        let soft_ok = |row: usize| {
            placed.iter().all(|&(j, r)| {
                let label_clear = empty || r < row || !covers(spans[i], markers[j].1);
                let line_clear = r > row || !covers(spans[j], x);
                label_clear && line_clear
            })
        };
        let candidates = 0..=placed.len();
        let row = match candidates.clone().find(|&r| hard_ok(r) && soft_ok(r)) {
            Some(r) => r,
            None => {
                broken += 1;
                candidates
                    .clone()
                    .find(|&r| hard_ok(r))
                    .unwrap_or(placed.len())
            }
        };
        rows[i] = Some(row);
    }
    (rows.into_iter().map(|r| r.unwrap_or(0)).collect(), broken)
}

/// A chart with only its title and a note, for inputs with nothing to draw.
fn no_data(title: &str, note: &str) -> String {
    let mut svg = Svg::new();
    let top = draw_title(&mut svg, title, WIDTH);
    let frame = Rect {
        x: PAD,
        y: top,
        w: WIDTH - 2.0 * PAD,
        h: 120.0,
    };
    svg.rect("no-data-frame", frame, "#fafafa", Some(GRID));
    let text = ellipsize(note, LABEL_SIZE, false, frame.w - 2.0 * PAD);
    let style = Style::new(LABEL_SIZE, Anchor::Middle).fill(MUTED);
    svg.text(
        "no-data",
        WIDTH / 2.0,
        frame.y + frame.h / 2.0 + centre_shift(LABEL_SIZE),
        &text,
        style,
    );
    svg.finish(title, WIDTH, frame.bottom() + PAD)
}

// ---------------------------------------------------------------------------------------------
// SVG writer

/// A coordinate with at most two decimals and no trailing zeros (and never "-0").
fn num(v: f64) -> String {
    debug_assert!(v.is_finite(), "non-finite coordinate");
    if !v.is_finite() {
        return "0".to_string();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[derive(Debug, Clone, Copy)]
struct Stroke {
    colour: &'static str,
    width: f64,
    dash: Option<&'static str>,
}

impl Stroke {
    fn solid(colour: &'static str, width: f64) -> Stroke {
        Stroke {
            colour,
            width,
            dash: None,
        }
    }
    fn dashed(colour: &'static str, width: f64, dash: &'static str) -> Stroke {
        Stroke {
            colour,
            width,
            dash: Some(dash),
        }
    }
    fn attrs(&self) -> String {
        let dash = self
            .dash
            .map(|d| format!(" stroke-dasharray=\"{d}\""))
            .unwrap_or_default();
        format!(
            "stroke=\"{}\" stroke-width=\"{}\"{dash}",
            self.colour,
            num(self.width)
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Style {
    size: f64,
    anchor: Anchor,
    bold: bool,
    angle: f64,
    fill: &'static str,
}

impl Style {
    fn new(size: f64, anchor: Anchor) -> Style {
        Style {
            size,
            anchor,
            bold: false,
            angle: 0.0,
            fill: INK,
        }
    }
    fn bold(self) -> Style {
        Style { bold: true, ..self }
    }
    fn rotated(self, angle: f64) -> Style {
        Style { angle, ..self }
    }
    fn fill(self, fill: &'static str) -> Style {
        Style { fill, ..self }
    }
}

/// The body of an SVG document, written element by element.
struct Svg {
    body: String,
}

impl Svg {
    fn new() -> Svg {
        Svg {
            body: String::new(),
        }
    }

    fn rect(&mut self, class: &str, r: Rect, fill: &str, stroke: Option<&str>) {
        let stroke = stroke
            .map(|s| format!(" stroke=\"{s}\" stroke-width=\"0.5\""))
            .unwrap_or_default();
        let _ = writeln!(
            self.body,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{stroke}/>",
            num(r.x),
            num(r.y),
            num(r.w.max(0.0)),
            num(r.h.max(0.0)),
        );
    }

    fn line(&mut self, class: &str, a: (f64, f64), b: (f64, f64), stroke: Stroke) {
        let _ = writeln!(
            self.body,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>",
            num(a.0),
            num(a.1),
            num(b.0),
            num(b.1),
            stroke.attrs(),
        );
    }

    fn polyline(&mut self, class: &str, pts: &[(f64, f64)], stroke: Stroke) {
        let points: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{},{}", num(x), num(y)))
            .collect();
        let _ = writeln!(
            self.body,
            "<polyline class=\"{class}\" points=\"{}\" fill=\"none\" {} stroke-linejoin=\"round\"/>",
            points.join(" "),
            stroke.attrs(),
        );
    }

    fn polygon(&mut self, class: &str, pts: &[(f64, f64)], fill: &str, opacity: f64) {
        let points: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{},{}", num(x), num(y)))
            .collect();
        let _ = writeln!(
            self.body,
            "<polygon class=\"{class}\" points=\"{}\" fill=\"{fill}\" fill-opacity=\"{}\" stroke=\"none\"/>",
            points.join(" "),
            num(opacity),
        );
    }

    fn circle(&mut self, class: &str, c: (f64, f64), r: f64, fill: &str, stroke: &str) {
        let _ = writeln!(
            self.body,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
            num(c.0),
            num(c.1),
            num(r),
        );
    }

    fn text(&mut self, class: &str, x: f64, y: f64, s: &str, st: Style) {
        if s.is_empty() {
            return;
        }
        let anchor = match st.anchor {
            Anchor::Start => "",
            Anchor::Middle => " text-anchor=\"middle\"",
            Anchor::End => " text-anchor=\"end\"",
        };
        let weight = if st.bold { " font-weight=\"bold\"" } else { "" };
        let transform = if st.angle == 0.0 {
            String::new()
        } else {
            format!(
                " transform=\"rotate({} {} {})\"",
                num(st.angle),
                num(x),
                num(y)
            )
        };
        let _ = writeln!(
            self.body,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\" font-size=\"{}\"{anchor}{weight}{transform} fill=\"{}\">{}</text>",
            num(x),
            num(y),
            num(st.size),
            st.fill,
            escape(&clean(s)),
        );
    }

    fn finish(self, title: &str, width: f64, height: f64) -> String {
        let (w, h) = (num(width.ceil()), num(height.ceil()));
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" role=\"img\">\n<title>{}</title>\n<rect class=\"background\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n{}</svg>\n",
            escape(&clean(title)),
            self.body,
        )
    }
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;

//! The HTML report in a real headless browser (Debian's chromium). Ignored by the plain test
//! command because it needs chromium; `.ci/run` installs chromium and runs it with `--ignored`.
//! It fails, rather than skips, when chromium is missing.

use std::process::Command;

use crate::{bin, run_ok, temp_dir};

fn chromium() -> String {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("no chromium found: install Debian's `chromium` package (.ci/run does)");
}

fn headless(browser: &str, profile: &std::path::Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
#[ignore = "needs chromium; run by .ci/run"]
fn the_report_renders_in_a_headless_browser_without_console_errors_or_missing_charts() {
    let browser = chromium();
    let dir = temp_dir("report");
    let out = dir.join("report");
    run_ok(
        bin()
            .args(["report", "--draws", "20000", "--sobol-n", "256", "--out"])
            .arg(&out),
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let figures = html.matches("<figure").count();
    // The NPV histograms, tornado, spider, scatter plots, convergence, input distributions and
    // the rest: every one is checked below for size and overlapping text.
    assert!(figures >= 20, "{figures} figures");
    for id in ["spider", "convergence", "tornado", "npv_total"] {
        assert!(
            html.contains(&format!("<figure id=\"{id}\">")),
            "no {id} chart"
        );
    }
    assert!(html.contains("<figure id=\"scatter_"), "no scatter plot");
    assert!(
        html.contains("<figure id=\"input_"),
        "no input distribution"
    );
    assert!(!html.contains("<img"), "charts are inline SVG");
    for fetch in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "no network references ({fetch})");
    }
    check_page_in_browser(
        &browser,
        &out.join("report.html"),
        figures,
        &dir.join("profile"),
    );
    let url = format!("file://{}", out.join("report.html").display());

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let s = headless(&browser, &dir.join("profile2"))
        .arg("--window-size=1200,6000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 50_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    eprintln!("screenshot saved to {}", shot.display());
}

#[test]
fn the_report_workbook_has_one_sheet_per_table() {
    use calamine::{Reader, Xlsx, open_workbook};
    let dir = temp_dir("report-xlsx");
    let out = dir.join("r");
    run_ok(
        bin()
            .args(["report", "--draws", "5000", "--sobol-n", "128", "--out"])
            .arg(&out),
    );
    let mut wb: Xlsx<_> = open_workbook(out.join("report.xlsx")).unwrap();
    let names = wb.sheet_names();
    for s in [
        "Run",
        "NPV",
        "Headline review",
        "Partners",
        "Tornado",
        "Switching values",
        "Rank correlation",
        "Sobol",
    ] {
        assert!(names.iter().any(|n| n == s), "missing sheet {s}: {names:?}");
    }
    let npv = wb.worksheet_range("NPV").unwrap();
    assert_eq!(
        npv.get_value((0, 0)).map(|c| c.to_string()),
        Some("entity".to_string())
    );
    assert!(npv.height() >= 7);
    // Units in the headers; numbers stored as numbers.
    let headers: Vec<String> = (0..npv.width() as u32)
        .filter_map(|c| npv.get_value((0, c)).map(|v| v.to_string()))
        .collect();
    for h in ["mean (£bn)", "se(mean) (£bn)", "P50 (£bn)", "P(< 0) (%)"] {
        assert!(headers.iter().any(|x| x == h), "no header {h}: {headers:?}");
    }
    assert!(matches!(
        npv.get_value((1, 2)),
        Some(calamine::Data::Float(_))
    ));
    let be = wb.worksheet_range("Breakeven").unwrap();
    let years: Vec<&calamine::Data> = (1..be.height() as u32)
        .filter_map(|r| be.get_value((r, 1)))
        .filter(|v| !matches!(v, calamine::Data::Empty))
        .collect();
    assert!(!years.is_empty());
    assert!(
        years.iter().all(|v| matches!(v, calamine::Data::Float(_))),
        "breakeven years are numbers: {years:?}"
    );
    assert!(names.iter().any(|n| n == "NPV distribution"), "{names:?}");

    // Number formats, widths, frozen headers and charts, read from the workbook's XML.
    let file = std::fs::File::open(out.join("report.xlsx")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut part = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    let styles = part("xl/styles.xml");
    assert!(
        styles.contains("formatCode=\"&quot;£&quot;#,##0.000&quot;bn&quot;"),
        "money format: {styles}"
    );
    assert!(styles.contains("formatCode=\"0.0%\""), "percent format");
    let workbook = part("xl/workbook.xml");
    let sheet_no = |name: &str| {
        let doc = roxmltree::Document::parse(&workbook).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name("sheet"))
            .position(|n| n.attribute("name") == Some(name))
            .unwrap()
            + 1
    };
    let npv_xml = part(&format!("xl/worksheets/sheet{}.xml", sheet_no("NPV")));
    assert!(npv_xml.contains("state=\"frozen\""), "frozen header");
    assert!(
        npv_xml.contains("<cols>") && npv_xml.contains("customWidth=\"1\""),
        "widths"
    );
    let mut charts = Vec::new();
    for i in 1.. {
        match zip.by_name(&format!("xl/charts/chart{i}.xml")) {
            Ok(mut f) => {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut f, &mut s).unwrap();
                charts.push(s);
            }
            Err(_) => break,
        }
    }
    assert!(
        charts
            .iter()
            .any(|c| c.contains("<c:scatterChart>") && c.contains("cumulative probability")),
        "an NPV distribution chart"
    );
    assert!(
        charts
            .iter()
            .any(|c| c.contains("<c:barChart>") && c.contains("Tornado")),
        "a tornado chart"
    );
}

/// Lay out `page` in headless chromium and check its self-check: every one of its `figures`
/// charts with a size, no overlapping texts, nothing outside a chart, no console error.
fn check_page_in_browser(
    browser: &str,
    page: &std::path::Path,
    figures: usize,
    profile: &std::path::Path,
) {
    let url = format!("file://{}", page.display());
    let dom = headless(browser, profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&dom.stderr);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.status.success(), "{stderr}");
    let faults: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("npvrisk-report-overlap") || l.contains("npvrisk-report-outside"))
        .collect();
    assert!(
        faults.is_empty(),
        "layout faults in the browser: {faults:#?}"
    );
    assert!(
        dom_text.contains(&format!("data-check=\"ok:{figures}\"")),
        "every chart laid out with a size, inside its box and with no overlapping text; stderr: {stderr}"
    );
    assert!(dom_text.contains("data-overlaps=\"0\""), "{stderr}");
    assert!(dom_text.contains("data-outside=\"0\""), "{stderr}");
    assert!(
        stderr.contains("npvrisk-report-check ok"),
        "the page's console output reached the log: {stderr}"
    );
    for line in stderr.lines().filter(|l| l.contains("CONSOLE")) {
        assert!(
            !line.contains("Uncaught") && !line.to_lowercase().contains("error"),
            "console error: {line}"
        );
    }
}

#[test]
#[ignore = "needs chromium; run by .ci/run"]
fn the_batch_page_renders_in_a_headless_browser_with_no_overlap_and_nothing_outside_its_charts() {
    let browser = chromium();
    let dir = temp_dir("batch-page");
    let manifest = dir.join("batch.toml");
    // The test batch, and one with long scenario names and more scenarios than the S-curve chart
    // overlays.
    let mut many = String::from(crate::batch::MANIFEST);
    many.push_str("\"themes.health_social_care.delay_years\" = [0.0, 0.5, 1.0, 1.5, 2.0]\n");
    for (tag, text, scenarios) in [
        ("four", crate::batch::MANIFEST.to_string(), 4),
        ("many", many, 12),
    ] {
        std::fs::write(&manifest, text.replace("draws = 20000", "draws = 5000")).unwrap();
        let out = dir.join(tag);
        run_ok(bin().arg("batch").arg(&manifest).arg("--out").arg(&out));
        let page = out.join("batch.html");
        let html = std::fs::read_to_string(&page).unwrap();
        assert_eq!(html.matches("<figure").count(), 2);
        assert!(html.contains(&format!("{scenarios} scenarios")), "{tag}");
        check_page_in_browser(&browser, &page, 2, &dir.join(format!("profile-{tag}")));
        if tag == "four" {
            let shot =
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-screenshot.png");
            let _ = std::fs::remove_file(&shot);
            let s = headless(&browser, &dir.join("profile-shot"))
                .arg("--window-size=1100,1800")
                .arg(format!("--screenshot={}", shot.display()))
                .arg(format!("file://{}", page.display()))
                .output()
                .unwrap();
            assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
            assert!(std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0) > 20_000);
            eprintln!("screenshot saved to {}", shot.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

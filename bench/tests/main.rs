//! The benchmark binary as the model pipeline's tests drive it (`clipstream-bench ocr-read`, in
//! models/tests/test_ocr_reference.py). Also makes the test build link the binary itself, which
//! those tests run after cargo's.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn ocr_read_writes_each_image_s_lines_in_the_reference_s_shape() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let images = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo.join("tests/fixtures/words/wifi-and-chinese.png"),
        images.path().join("sticker.png"),
    )
    .expect("copy");
    std::fs::write(images.path().join("notes.txt"), "not an image").expect("write");
    let out = images.path().join("out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_clipstream-bench"))
        .args(["ocr-read", "--effort", "product", "--images"])
        .arg(images.path())
        .arg("--json")
        .arg(&out)
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("json written")).expect("json");
    let images = results["images"].as_object().expect("images");
    assert_eq!(images.keys().collect::<Vec<_>>(), ["sticker.png"]);
    let lines = images["sticker.png"]["lines"].as_array().expect("lines");
    let texts: Vec<&str> = lines.iter().filter_map(|l| l["text"].as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("password: hunter22")),
        "{texts:?}"
    );
    for line in lines {
        assert_eq!(line["box"].as_array().expect("box").len(), 4, "{line}");
    }
}

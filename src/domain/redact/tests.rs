use super::*;

// Fake secrets, put together here so that no source file holds one whole.
fn anthropic() -> String {
    ["sk-ant-", "api03-FAKEfakeFAKE0123456789_abc-XYZ"].concat()
}
fn aws() -> String {
    ["AKIA", "IOSFODNN7EXAMPLE"].concat()
}
fn github_classic() -> String {
    ["ghp_", "0123456789abcdefghijABCDEFGHIJ012345"].concat()
}
fn github_fine() -> String {
    [
        "github_pat_",
        "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    ]
    .concat()
}
fn slack() -> String {
    ["xoxb-", "1234567890-0987654321-AbCdEfGhIjKlMnOp"].concat()
}
fn pem() -> String {
    [
        "-----BEGIN OPENSSH ",
        "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n",
        "QyNTUxOQAAACDxFAKEFAKEFAKE+/==\n-----END OPENSSH PRIVATE KEY-----",
    ]
    .concat()
}

fn red(text: &str) -> String {
    Redactor::builtin().text(text).into_owned()
}

/// The secrets of every built-in kind, with the marker each must leave.
fn kinds() -> Vec<(String, &'static str)> {
    vec![
        (anthropic(), "[REDACTED:anthropic-api-key]"),
        (aws(), "[REDACTED:aws-access-key-id]"),
        (
            ["ASIA", "ZZZZYYYYXXXX1234"].concat(),
            "[REDACTED:aws-access-key-id]",
        ),
        (github_classic(), "[REDACTED:github-token]"),
        (github_fine(), "[REDACTED:github-token]"),
        (slack(), "[REDACTED:slack-token]"),
        (
            ["xoxp-", "55555-66666-abcdef"].concat(),
            "[REDACTED:slack-token]",
        ),
        (pem(), "[REDACTED:private-key]"),
        (pem().replace("OPENSSH ", "RSA "), "[REDACTED:private-key]"),
        (pem().replace("OPENSSH ", ""), "[REDACTED:private-key]"),
    ]
}

#[test]
fn each_builtin_kind_is_replaced_by_its_marker() {
    for (secret, marker) in kinds() {
        let text = format!("before {secret} after");
        assert_eq!(red(&text), format!("before {marker} after"), "{secret}");
    }
}

#[test]
fn assignments_keep_the_name_and_lose_the_value() {
    let cases = [
        (
            format!("ANTHROPIC_API_KEY={}", anthropic()),
            "ANTHROPIC_API_KEY=[REDACTED:anthropic-api-key]",
        ),
        (
            "DB_PASSWORD=hunter2hunter2".to_string(),
            "DB_PASSWORD=[REDACTED:secret]",
        ),
        (
            "export GITHUB_TOKEN=\"abc123def\" && run".to_string(),
            "export GITHUB_TOKEN=\"[REDACTED:secret]\" && run",
        ),
        (
            "AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCY'".to_string(),
            "AWS_SECRET_ACCESS_KEY='[REDACTED:secret]'",
        ),
        (
            "PGPASSWORD=pw1 psql".to_string(),
            "PGPASSWORD=[REDACTED:secret] psql",
        ),
        ("SECRET=s3cr3t".to_string(), "SECRET=[REDACTED:secret]"),
        (
            "TOKEN=t0k3n\nnext".to_string(),
            "TOKEN=[REDACTED:secret]\nnext",
        ),
        ("API_KEY_ID=k1".to_string(), "API_KEY_ID=[REDACTED:secret]"),
        (
            "set APP_SECRET=abc;d, then TOKEN=x.".to_string(),
            "set APP_SECRET=[REDACTED:secret], then TOKEN=[REDACTED:secret].",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(red(&text), want);
    }
}

#[test]
fn a_private_key_cut_off_before_its_end_is_still_redacted() {
    let cut = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nMIIEvQIBAD";
    assert_eq!(red(&format!("key: {cut}")), "key: [REDACTED:private-key]");
}

#[test]
fn ordinary_text_is_left_alone() {
    let texts = [
        "Set the TOKEN in your environment, then run it; the SECRET is safe.",
        "the KEY = value form, and PASSWORD: hunter2 are not assignments",
        "commit 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39 (HEAD -> main)",
        "3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
        r#"{"usage":{"input_tokens":12597,"cache_read_input_tokens":0},"apiKeySource":"ANTHROPIC_API_KEY"}"#,
        "TOKENIZERS_PARALLELISM=false KEYBOARD=us",
        "let key = map.get(\"x\"); sorted(items, key=len); password = input()",
        "API_KEY=$API_KEY TOKEN=${{ secrets.TOKEN }} PASSWORD=<your password> KEY=%KEY%",
        "an Anthropic key looks like sk-ant-… and a GitHub one starts with ghp_",
        "ASIA and AKIA alone, xoxb- alone",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "TOKEN=",
        "",
    ];
    for text in texts {
        assert!(
            matches!(Redactor::builtin().text(text), Cow::Borrowed(_)),
            "changed: {text:?} → {:?}",
            red(text)
        );
    }
}

#[test]
fn user_patterns_redact_the_whole_match_or_their_secret_group() {
    let r = Redactor::with_patterns(&[
        r"corp-[0-9]{6}".to_string(),
        r"session=(?P<secret>\w+)".to_string(),
    ])
    .unwrap();
    assert_eq!(
        r.text("id corp-123456, session=abc123 then"),
        "id [REDACTED:custom], session=[REDACTED:custom] then"
    );
    // the built-in patterns still apply
    assert_eq!(r.text(&aws()), "[REDACTED:aws-access-key-id]");
    assert!(matches!(r.text("corp-12 session="), Cow::Borrowed(_)));
}

#[test]
fn an_invalid_user_pattern_is_an_error_naming_it() {
    let err = Redactor::with_patterns(&["fine".into(), "(unclosed".into()]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("[redact]") && text.contains("(unclosed"),
        "{text}"
    );
}

#[test]
fn redacting_twice_changes_nothing() {
    let custom = Redactor::with_patterns(&[
        "REDACTED".to_string(),
        r"\[[^\]]*\]".to_string(),
        "(?P<secret>private)-key".to_string(),
    ])
    .unwrap();
    let mut texts: Vec<String> = kinds().into_iter().map(|(s, _)| s).collect();
    texts.push(format!(
        "ANTHROPIC_API_KEY={} DB_PASSWORD=\"x y\" TOKEN=[REDACTED:secret]",
        anthropic()
    ));
    for r in [&*Redactor::builtin(), &custom] {
        for text in &texts {
            let once = r.text(text).into_owned();
            assert!(once.contains("[REDACTED:"), "{text} → {once}");
            assert_eq!(r.text(&once), once, "{text}");
        }
    }
}

fn line(r: &Redactor, bytes: &[u8]) -> Vec<u8> {
    r.line(bytes, &mut LineState::default()).into_owned()
}

#[test]
fn json_lines_stay_valid_and_change_only_in_the_strings_holding_secrets() {
    let r = Redactor::builtin();
    // a secret right before an escaped newline and an escaped backslash
    let raw = format!(
        r#"{{"n":1.50,"a":"x\u00e9","t":"GITHUB_TOKEN={}\nok TOKEN=abc\\ \"q\""}}"#,
        "abcdef"
    );
    let out = line(&r, raw.as_bytes());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"n":1.50,"a":"x\u00e9","t":"GITHUB_TOKEN=[REDACTED:secret]\nok TOKEN=[REDACTED:secret]\\ \"q\""}"#
    );
    // every kind, inside the text of a real stream-json line
    for (secret, marker) in kinds() {
        let raw = serde_json::json!({"type": "assistant", "message": {"content": [
            {"type": "text", "text": format!("here: {secret}\nthere")}]}})
        .to_string();
        let out = line(&r, raw.as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
        assert_eq!(
            v["message"]["content"][0]["text"],
            format!("here: {marker}\nthere")
        );
    }
}

#[test]
fn json_strings_that_do_not_decode_or_end_are_redacted_as_bytes() {
    let r = Redactor::builtin();
    assert_eq!(
        line(&r, b"{\"t\":\"\xff TOKEN=abc\",\"u\":2}"),
        b"{\"t\":\"\xff TOKEN=[REDACTED:secret]\",\"u\":2}"
    );
    assert_eq!(
        line(&r, b"{\"t\":\"TOKEN=abc"),
        b"{\"t\":\"TOKEN=[REDACTED:secret]"
    );
}

#[test]
fn a_private_key_printed_over_plain_lines_is_redacted_line_by_line() {
    let r = Redactor::builtin();
    let mut state = LineState::default();
    let printed = pem();
    let input: Vec<&str> = ["key follows:"]
        .into_iter()
        .chain(printed.lines())
        .chain(["", "after it"])
        .collect();
    let out: Vec<String> = input
        .iter()
        .map(|l| String::from_utf8(r.line(l.as_bytes(), &mut state).into_owned()).unwrap())
        .collect();
    let m = "[REDACTED:private-key]";
    assert_eq!(out, ["key follows:", m, m, m, m, "", "after it"]);
    // a line that is not key material ends it
    let mut state = LineState::default();
    r.line(b"-----BEGIN RSA PRIVATE KEY-----", &mut state);
    assert_eq!(
        &*r.line(b"{\"type\":\"x\"}", &mut state),
        b"{\"type\":\"x\"}"
    );
}

#[test]
fn lines_without_a_candidate_are_not_copied() {
    let r = Redactor::builtin();
    let fixture = include_str!("../../../tests/fixtures/claude-stream-json/implement.jsonl");
    for l in fixture.lines() {
        assert!(
            matches!(
                r.line(l.as_bytes(), &mut LineState::default()),
                Cow::Borrowed(_)
            ),
            "{l}"
        );
    }
}

#[test]
fn a_runs_secret_answers_are_redacted_as_written_and_inside_json() {
    let base = Redactor::with_patterns(&["corp-[0-9]{6}".into()]).unwrap();
    let red = base.with_literals(["s3cr\"et-value", "two\nlines"]);
    assert_eq!(
        red.text("echo s3cr\"et-value corp-123456"),
        "echo [REDACTED:answer] [REDACTED:custom]"
    );
    let json = br#"{"type":"user","content":"s3cr\"et-value\n"}"#;
    let out = red.line(json, &mut LineState::default());
    let out = String::from_utf8(out.into_owned()).unwrap();
    assert!(!out.contains("et-value"), "{out}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&out).is_ok(),
        "{out}"
    );
    assert_eq!(red.text("the first: two"), "the first: [REDACTED:answer]");
    assert_eq!(
        base.text("s3cr\"et-value"),
        "s3cr\"et-value",
        "the base is unchanged"
    );
}

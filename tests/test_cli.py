import json

from tests.conftest import SEED_PAGE


def add_source(workdir, text: str) -> None:
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + text)


def test_fetch_stores_the_seed_page_and_a_second_fetch_changes_nothing(workdir, bot):
    first = bot("fetch")
    assert first.exit_code == 0, first.stderr
    assert "hf-daily-seed  54   0        0          ok" in first.output
    again = bot("fetch")
    assert "hf-daily-seed  0    0        54         ok" in again.output


def test_a_broken_source_is_reported_and_the_others_still_run(workdir, bot):
    add_source(workdir, '\n[[sources]]\nname = "gone"\nkind = "seed_page"\npath = "missing.txt"\n')
    result = bot("fetch")
    assert result.exit_code == 1
    assert "Error: source gone failed: cannot read missing.txt: No such file or directory" in result.stderr
    assert "hf-daily-seed  54" in result.output
    assert len(bot("listings", "--json").output.splitlines()) == 54


def test_listings_as_a_table_and_as_json_lines(workdir, bot):
    assert "No listings yet" in bot("listings").output
    bot("fetch")
    table = bot("listings", "--limit", "3").output.splitlines()
    assert table[0].split() == ["ID", "TITLE", "SOURCE"] and len(table) == 4
    rows = [json.loads(line) for line in bot("listings", "--json").output.splitlines()]
    assert len(rows) == 54
    assert set(rows[0]) == {
        "id",
        "title",
        "abstract",
        "authors",
        "categories",
        "url",
        "source",
        "published",
        "upvotes",
        "doi",
        "comments",
        "ai_summary",
        "github_repo",
        "project_page",
    }
    assert any(r["title"] == "2D Matryoshka Sentence Embeddings" for r in rows)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_rank_from_files(tmp_path, bot):
    listings = write_jsonl(
        tmp_path / "l.jsonl",
        [
            {"id": "1", "title": "Speculative decoding with draft models", "abstract": "Draft then verify."},
            {
                "id": "2",
                "title": "Speculative decoding at scale",
                "abstract": "Verify many drafts.",
                "authors": ["Ada"],
            },
            {"id": "3", "title": "Protein folding", "abstract": "Structures."},
        ],
    )
    profiles = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"name": "sd", "keywords": ["speculative decoding"], "like": ["1"]},
            {"name": "bio", "keywords": "protein folding", "exclude": ["structures"]},
        ],
    )
    result = bot("rank", "--listings", listings, "--profiles", profiles, "--top", "5")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["profile"] for line in lines] == ["sd", "bio"]
    sd = lines[0]["results"]
    assert [r["id"] for r in sd] == ["2"]  # never the profile's own liked paper
    assert sd[0]["why"][0] == "speculative decoding" and isinstance(sd[0]["score"], float)
    assert lines[1]["results"] == []  # the only match carries an excluded word


def test_rank_refuses_malformed_files_with_the_line(tmp_path, bot):
    listings = tmp_path / "l.jsonl"
    listings.write_text('{"id": "1", "title": "T", "abstract": "A"}\n{"id": "2", "title": \n')
    profiles = write_jsonl(tmp_path / "p.jsonl", [{"name": "p", "keywords": ["t"]}])
    result = bot("rank", "--listings", str(listings), "--profiles", profiles)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {listings}:2: not valid JSON")
    bad_profiles = write_jsonl(tmp_path / "bp.jsonl", [{"name": "p", "keyword": ["t"]}])
    result = bot(
        "rank",
        "--listings",
        write_jsonl(tmp_path / "ok.jsonl", [{"id": "1", "title": "T"}]),
        "--profiles",
        bad_profiles,
    )
    assert (result.exit_code, result.stderr) == (2, f"Error: {bad_profiles}:1: unknown field(s) keyword\n")


def test_a_missing_or_malformed_config_is_one_line(workdir, bot):
    result = bot("profile", "list", "--config", "nope.toml")
    assert (result.exit_code, result.stderr) == (2, "Error: nope.toml: no such config file\n")
    (workdir / "bad.toml").write_text("[digest]\ntop = 'ten'\n")
    result = bot("profile", "list", "--config", "bad.toml")
    assert (result.exit_code, result.stderr) == (2, "Error: bad.toml: [digest] top must be a whole number, not 'ten'\n")
    (workdir / "typo.toml").write_text("[digests]\ntop = 3\n")
    assert bot("profile", "list", "--config", "typo.toml").stderr == "Error: typo.toml: unknown section(s) digests\n"


def test_the_database_url_comes_from_the_environment_when_set(workdir, bot, monkeypatch):
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{workdir / 'elsewhere.db'}")
    bot("profile", "add", "p", "-k", "graphs")
    assert (workdir / "elsewhere.db").exists()
    assert not (workdir / "data" / "bot.db").exists()


def test_the_config_path_comes_from_the_environment_when_set(workdir, bot, monkeypatch):
    other = workdir / "other.toml"
    other.write_text(
        f'[store]\nurl = "sqlite:///other.db"\n'
        f'[[sources]]\nname = "s"\nkind = "seed_page"\npath = "{SEED_PAGE.as_posix()}"\n'
    )
    monkeypatch.setenv("BOT_CONFIG", str(other))
    assert bot("fetch").exit_code == 0
    assert (workdir / "other.db").exists()


def test_digest_without_profiles_says_how_to_add_one(workdir, bot):
    result = bot("digest")
    assert result.exit_code == 1
    assert 'no profiles: add one with `bot profile add NAME --keywords "..."`' in result.stderr

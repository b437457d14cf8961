"""A mapping turns any extract into the graph's properties: columns, constants, dates, transforms, joins."""

import pytest

from wbgraph.errors import InputFileError, MappingError
from wbgraph.loaders.mapping import init_mapping, load_mapping
from wbgraph.loaders.validate import validate

RATINGS = (
    "userId;movieId;rating;timestamp\n1;10;4.0;964982703\n1;20;3.5;964981247\n2;10;5.0;1445714835\n2;30;;1445714835\n"
)
MOVIES = "movieId,title,genres\n10,Heat (1995),Action|Crime|Thriller\n20,Up (2009),Animation\n"
MAPPING = """
delimiter = ";"
[columns]
customerId = { column = "userId", case = "upper" }
productId = "movieId"
date = { column = "timestamp", format = "epoch-seconds" }
amount = { column = "rating", required = true }
currency = { constant = "EUR" }
[products]
file = "movies.csv"
key = "movieId"
[products.columns]
productType = { column = "genres", split = "|", take = "first" }
subcategory = "title"
"""


def files(tmp_path, mapping=MAPPING):
    (tmp_path / "ratings.csv").write_text(RATINGS)
    (tmp_path / "movies.csv").write_text(MOVIES)
    (tmp_path / "mapping.toml").write_text(mapping)
    return tmp_path / "ratings.csv", tmp_path / "mapping.toml"


def test_a_mapped_file_becomes_typed_rows_and_rejects_keep_their_line(tmp_path):
    data, mapping = files(tmp_path)
    v = validate(data, mapping=load_mapping(mapping))
    assert v.read == 4 == len(v.rows) + len(v.rejects)
    assert v.rejects["lineNumber"].tolist() == [5] and "missing Transaction Amount" in v.rejects["reason"].iat[0]
    first = v.rows.iloc[0]
    assert (first["customerId"], first["productId"], first["amount"], first["currency"]) == ("1", "10", 4.0, "EUR")
    assert str(first["date"]) == "2000-07-30 18:45:03+00:00"  # epoch seconds, in UTC
    assert first["productType"] == "Action" and first["subcategory"] == "Heat (1995)"  # from the products file
    assert v.rows["productType"].tolist()[1] == "Animation"
    assert v.rows["transactionId"].isna().all() and v.rows["transactionKey"].nunique() == 3
    assert not v.warnings  # a user's mapping checks no vocabulary unless it asks to


@pytest.mark.parametrize(
    "text,message",
    [
        ("[columns]\nproductId = 'a'\ndate = 'b'\n", "must map customerId"),
        (
            "[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\ncolour = 'd'\n",
            "names 'colour', which is not a property",
        ),
        (
            "[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = { column = 'c', format = 'yesterday' }\n",
            "date format 'yesterday'",
        ),
        (
            "[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\namount = { column = 'd', format = '%Y' }\n",
            "format applies to dates only",
        ),
        (
            "[columns]\ncustomerId = { column = 'a', constant = 'b' }\nproductId = 'b'\ndate = 'c'\n",
            "exactly one of column or constant",
        ),
        ("[columns]\ncustomerId = 'a'\ncustomerId = 'b'\n", "cannot read the mapping"),
        ("sheet = 1\n[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\n", r"unknown keys \['sheet'\]"),
        ("[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\n[products]\nfile = 'm.csv'\n", "needs file"),
    ],
)
def test_an_unusable_mapping_is_one_line_before_anything_is_read(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(MappingError, match=message) as raised:
        load_mapping(path)
    assert isinstance(raised.value, InputFileError) and raised.value.exit_code == 3  # as other file-level errors
    assert "\n" not in str(raised.value)


def test_a_mapping_naming_a_column_the_file_lacks_is_one_line(tmp_path):
    data, mapping = files(tmp_path, MAPPING.replace('productId = "movieId"', 'productId = "film"'))
    with pytest.raises(MappingError, match="has no column 'film'"):
        validate(data, mapping=load_mapping(mapping))


def test_dates_in_a_pattern_and_in_milliseconds(tmp_path):
    (tmp_path / "t.csv").write_text("c,p,d,ms\nA,X,31/12/2024,1735603200000\nB,Y,not a date,1735603200000\n")
    (tmp_path / "m.toml").write_text(
        '[columns]\ncustomerId = "c"\nproductId = "p"\ndate = { column = "d", format = "%d/%m/%Y" }\n'
    )
    v = validate(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml"))
    assert str(v.rows["date"].iat[0]) == "2024-12-31 00:00:00+00:00"
    assert "'not a date' is not an ISO 8601 date" in v.rejects["reason"].iat[0]
    (tmp_path / "m.toml").write_text(
        '[columns]\ncustomerId = "c"\nproductId = "p"\ndate = { column = "ms", format = "epoch-milliseconds" }\n'
    )
    v = validate(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml"))
    assert str(v.rows["date"].iat[0]) == "2024-12-31 00:00:00+00:00" and len(v.rows) == 2


def test_init_guesses_ids_dates_and_amounts_and_lists_the_rest(tmp_path):
    data, _ = files(tmp_path)
    text = init_mapping(data, delimiter=";")
    assert 'customerId = { column = "userId" }' in text and 'productId = { column = "movieId" }' in text
    assert 'date = { column = "timestamp", format = "epoch-seconds" }' in text
    assert 'amount = { column = "rating" }' in text
    (tmp_path / "guessed.toml").write_text(text)
    assert len(validate(data, mapping=load_mapping(tmp_path / "guessed.toml")).rows) == 4  # usable as it is


def test_the_default_format_is_the_default_mapping(seed_csv):
    from wbgraph.loaders.mapping import default_mapping

    assert default_mapping().required == {"customerId", "productId", "transactionId", "date", "amount"}
    assert validate(seed_csv).read == validate(seed_csv, mapping=default_mapping()).read == 1000

"""A mapping turns any extract into the graph's properties: columns, constants, dates, transforms, joins."""

import re

import pandas as pd
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
            "regulations = 'sometimes'\n[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\n",
            'regulations must be "accumulate" or "latest", not \'sometimes\'',
        ),
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


EXTRAS = """
[columns]
customerId = "client"
productId = "product"
date = "booked"
[extra.Customer]
segment = { column = "segment", case = "upper" }
[extra.Transaction]
channel = "channel"
fee = { column = "fee", type = "float" }
[customers]
file = "clients.csv"
key = "client"
[customers.extra]
onboarded = { column = "since", type = "date", format = "%d/%m/%Y" }
"""


def test_extra_columns_become_typed_properties_of_their_node(tmp_path):
    (tmp_path / "t.csv").write_text(
        "client,product,booked,segment,channel,fee\n"
        "C1,P1,2025-01-02,mid,web,1.5\n"
        "C2,P1,2025-01-03,,branch,\n"
        "C1,P2,2025-01-04,mid,web,abc\n"
    )
    (tmp_path / "clients.csv").write_text("client,since\nC1,31/12/2019\nC2,\n")
    (tmp_path / "m.toml").write_text(EXTRAS)
    v = validate(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml"))
    assert v.rejects["reason"].tolist() == ["Transaction.fee 'abc' is not a finite number"]
    assert v.rows["segment"].tolist() == ["MID", None] and v.rows["channel"].tolist() == ["web", "branch"]
    assert v.rows["fee"].tolist()[0] == 1.5 and v.rows["fee"].isna().tolist() == [False, True]
    assert str(v.rows["onboarded"].iat[0]) == "2019-12-31 00:00:00+00:00" and v.rows["onboarded"].isna().iat[1]


@pytest.mark.parametrize(
    "extra,message",
    [
        ("[extra.Customer]\nindustry = 'x'\n", "'industry' cannot be an extra property name"),
        ("[extra.Customer]\ntransactionKey = 'x'\n", "'transactionKey' cannot be an extra property name"),
        ("[extra.Customer]\n'my-prop' = 'x'\n", "'my-prop' cannot be an extra property name"),
        ("[extra.Customer]\nsize = { column = 'x', type = 'money' }\n", "type must be one of text, float, int, date"),
        ("[extra.Account]\nsize = 'x'\n", "[extra.Customer], [extra.Product] and [extra.Transaction] only"),
        ("[extra.Customer]\nsize = 'x'\n[extra.Product]\nsize = 'y'\n", "extra properties named twice: size"),
        ("[extra.Customer]\nsize = { column = 'x', model = 'yes' }\n", "size: model must be true or false"),
        (
            "[extra.Customer]\nsince = { column = 'x', type = 'date', model = true }\n",
            "since: model = true takes a text, float or int property",
        ),
        (
            "[extra.Transaction]\nfee = { column = 'x', model = true }\n",
            "fee: model = true is for customer and product",
        ),
        ("[columns]\nexposure = { column = 'x', model = true }\n", "exposure: model applies to extra properties"),
    ],
)
def test_an_unusable_extra_property_is_one_line(tmp_path, extra, message):
    head = "[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\n"
    if extra.startswith("[columns]"):
        head, extra = head + extra.removeprefix("[columns]\n"), ""
    (tmp_path / "m.toml").write_text(head + extra)
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(tmp_path / "m.toml")


def test_the_bulk_files_carry_the_extra_properties_typed(tmp_path):
    from wbgraph.loaders.bulk import write_import_files
    from wbgraph.loaders.validate import Scan

    (tmp_path / "t.csv").write_text("client,product,booked,segment,channel,fee\nC1,P1,2025-01-02,mid,web,1.5\n")
    (tmp_path / "clients.csv").write_text("client,since\nC1,31/12/2019\n")
    (tmp_path / "m.toml").write_text(EXTRAS)
    files = write_import_files(Scan.of(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml")), tmp_path / "out")
    header = {label: path.read_text().splitlines()[0] for label, path in files.nodes}
    assert '"segment:string"' in header["Customer"] and '"onboarded:datetime"' in header["Customer"]
    assert '"channel:string"' in header["Transaction"] and '"fee:double"' in header["Transaction"]


def test_init_offers_the_unmapped_columns_as_extra_properties(tmp_path):
    (tmp_path / "t.csv").write_text('customer,product,date,Booking Channel,"Fee ""net"""\nC1,P1,2025-01-02,web,3\n')
    text = init_mapping(tmp_path / "t.csv")
    start = text.index("# [extra.Customer]")
    uncommented = text[:start] + "\n".join(line[2:] for line in text[start:].splitlines()) + "\n"
    (tmp_path / "m.toml").write_text(uncommented)
    rows = validate(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml")).rows
    assert rows["bookingChannel"].tolist() == ["web"] and rows["feeNet"].tolist() == ["3"]


RATES = """
[columns]
customerId = "client"
productId = "product"
date = "booked"
amount = "amount"
value = "value"
currency = "ccy"
[currency]
reporting = "USD"
rates = { EUR = 1.1, JPY = 0.0065 }
"""


def test_a_rate_table_gives_every_transaction_its_money_in_the_reporting_currency(tmp_path):
    from wbgraph.loaders.usage import usage_table

    (tmp_path / "t.csv").write_text(
        "client,product,booked,amount,value,ccy\n"
        "C1,P1,2025-01-02,100,10,EUR\n"
        "C1,P1,2025-01-03,1000,,JPY\n"
        "C1,P2,2025-01-04,5,5,USD\n"
        "C2,P1,2025-01-05,7,7,CHF\n"  # no rate: kept, not converted, counted
    )
    (tmp_path / "m.toml").write_text(RATES)
    v = validate(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml"))
    assert v.rows["amountReporting"].round(6).tolist()[:3] == [110.0, 6.5, 5.0]
    assert v.rows["amountReporting"].isna().tolist() == [False, False, False, True]
    assert v.warnings["rows whose currency has no rate to USD (money not converted)"] == 1
    usage = usage_table(v.rows).set_index(["customerId", "productId"])
    assert usage.loc[("C1", "P1"), "totalAmountReporting"] == pytest.approx(116.5)  # EUR and JPY, converted
    assert pd.isna(usage.loc[("C1", "P1"), "totalAmount"])  # ... never added as they were
    assert usage.loc[("C1", "P1"), "totalValueReporting"] == pytest.approx(11.0)  # the one value there is
    assert pd.isna(usage.loc[("C2", "P1"), "totalAmountReporting"]) and usage.loc[("C2", "P1"), "totalAmount"] == 7


@pytest.mark.parametrize(
    "currency,message",
    [
        ("[currency]\nreporting = 'USD'\n", "[currency] needs reporting"),
        ("[currency]\nreporting = 'USD'\nrates = { EUR = -1 }\n", "rate of EUR must be a positive number"),
        ("[currency]\nreporting = 'USD'\nrates = { EUR = 'x' }\n", "rate of EUR must be a positive number"),
    ],
)
def test_an_unusable_rate_table_is_one_line(tmp_path, currency, message):
    (tmp_path / "m.toml").write_text("[columns]\ncustomerId = 'a'\nproductId = 'b'\ndate = 'c'\n" + currency)
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(tmp_path / "m.toml")


def test_the_bulk_uses_file_carries_the_reporting_totals(tmp_path):
    from wbgraph.loaders.bulk import write_import_files
    from wbgraph.loaders.validate import Scan

    (tmp_path / "t.csv").write_text("client,product,booked,amount,value,ccy\nC1,P1,2025-01-02,100,10,EUR\n")
    (tmp_path / "m.toml").write_text(RATES)
    files = write_import_files(Scan.of(tmp_path / "t.csv", mapping=load_mapping(tmp_path / "m.toml")), tmp_path / "o")
    uses = pd.read_csv(dict(files.relationships)["USES"])
    assert uses["totalAmountReporting:double"].tolist() == [pytest.approx(110.0)]
    assert uses["totalValueReporting:double"].tolist() == [pytest.approx(11.0)]
    assert uses["currency:string"].tolist() == ["EUR"] and uses["totalAmount:double"].tolist() == [100.0]

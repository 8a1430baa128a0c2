from tests.conftest import ClientFactory


async def test_create_and_join(client_factory: ClientFactory) -> None:
    a = await client_factory()
    b = await client_factory()
    res = await a.call("createRoom", {"nickname": "Ann"})
    assert res["ok"], res
    code = res["room"]["code"]
    res = await b.call("joinRoom", {"nickname": "Bob", "code": code.lower()})
    assert res["ok"], res
    players = await a.last(f"players{code}")
    assert [p["nickname"] for p in players] == ["Ann", "Bob"]
    assert await a.last("allReady") is False

"""A first walk through the main pages as a coordinator."""

from __future__ import annotations


def test_paper_pages_render(client, auth, world):
    auth.login(world.coordinator.email)
    for url in [
        "/",
        f"/papers/{world.paper.id}",
        f"/papers/{world.paper.id}/settings",
        f"/sections/{world.section.id}/edit",
        f"/sections/{world.section.id}/history",
        f"/sections/{world.section.id}/versions/1",
        "/profile",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Ausgangslage" in client.get(f"/papers/{world.paper.id}").get_data(as_text=True)

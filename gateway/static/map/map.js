// The o2o-gateway deals map (served at /map): our own vector tiles on a plain background.
// URL parameters: lat, lng, zoom, and the DealFilter fields (categories, priceMin, priceMax,
// minRating, openNow, openAt), which are passed on to the tile URL unchanged.
import { Map } from "./maplibre-gl.mjs";

const FILTERS = ["categories", "priceMin", "priceMax", "minRating", "openNow", "openAt"];
const page = new URLSearchParams(window.location.search);
const number = (name, fallback) => {
  const value = Number.parseFloat(page.get(name) ?? "");
  return Number.isFinite(value) ? value : fallback;
};
const filters = new URLSearchParams();
for (const name of FILTERS) {
  for (const value of page.getAll(name)) filters.append(name, value);
}
const query = filters.toString() ? `?${filters}` : "";
const tiles = `${window.location.origin}/tiles/deals/{z}/{x}/{y}.mvt${query}`;

const map = new Map({
  container: "map",
  center: [number("lng", 24.9384), number("lat", 60.1699)],
  zoom: number("zoom", 13),
  attributionControl: false,
  style: {
    version: 8,
    sources: { deals: { type: "vector", tiles: [tiles], minzoom: 0, maxzoom: 16 } },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#eef0f3" } },
      {
        id: "clusters",
        type: "circle",
        source: "deals",
        "source-layer": "deals",
        filter: ["==", ["get", "cluster"], true],
        paint: {
          "circle-color": "#e8590c",
          "circle-opacity": 0.85,
          "circle-radius": ["step", ["get", "point_count"], 8, 10, 12, 100, 16, 1000, 22],
          "circle-stroke-width": 1,
          "circle-stroke-color": "#ffffff",
        },
      },
      {
        id: "deals",
        type: "circle",
        source: "deals",
        "source-layer": "deals",
        filter: ["!", ["has", "cluster"]],
        paint: {
          "circle-color": "#1c7ed6",
          "circle-radius": 7,
          "circle-stroke-width": 1.5,
          "circle-stroke-color": "#ffffff",
        },
      },
    ],
  },
});
window.o2oMap = map;
// Tile or style failures are kept for the page's tests and shown to the user.
window.o2oMapErrors = [];
// Tiles come from MapLibre's web workers, which a page's network log does not see.
window.o2oTilesLoaded = [];
map.on("data", (event) => {
  if (event.sourceId === "deals" && event.tile && event.tile.tileID) {
    const { z, x, y } = event.tile.tileID.canonical;
    window.o2oTilesLoaded.push(`${z}/${x}/${y}`);
  }
});
map.on("error", (event) => {
  const message = String((event.error && event.error.message) || event.error || "map error");
  window.o2oMapErrors.push(message);
  document.getElementById("hint").textContent = `Map error: ${message}`;
});

const DEAL_QUERY = "query Deal($id: ID!) { deal(id: $id) { id title price { amount currency } } }";

async function showDeal(id) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query: DEAL_QUERY, variables: { id } }),
  });
  const body = await response.json();
  const details = document.getElementById("details");
  if (!response.ok || body.errors || !body.data.deal) {
    document.getElementById("deal-title").textContent = "This deal could not be loaded.";
    document.getElementById("deal-price").textContent = "";
    return;
  }
  const deal = body.data.deal;
  document.getElementById("deal-title").textContent = deal.title;
  document.getElementById("deal-price").textContent = `${deal.price.amount} ${deal.price.currency}`;
  details.dataset.dealId = deal.id;
}

map.on("click", "deals", (event) => {
  const feature = event.features && event.features[0];
  if (feature) showDeal(feature.properties.id);
});
map.on("click", "clusters", (event) => {
  const feature = event.features && event.features[0];
  if (feature) {
    map.easeTo({ center: feature.geometry.coordinates, zoom: feature.properties.expansion_zoom });
  }
});
for (const layer of ["deals", "clusters"]) {
  map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
}

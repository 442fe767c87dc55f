// The grid map page: township, community and grid boundaries with their names, the user's own
// grids highlighted, estates and buildings of the user's scope close up, "where am I" on demand.
// Works offline; a tile layer only when the server is configured with one (ShequMap).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var i18n = ShequMap.strings("map-i18n");
  var map = ShequMap.create(document.getElementById("map"), config);

  var details = document.getElementById("map-info-details");
  var building = document.getElementById("map-building-details");
  var empty = document.getElementById("map-info-empty");
  var link = document.getElementById("map-info-link");
  var roomsLink = document.getElementById("map-building-link");

  function field(root, name, value) {
    root.querySelector('[data-field="' + name + '"]').textContent = value || "";
  }

  function showGrid(props) {
    field(details, "name", props.name);
    field(details, "code", props.code);
    field(details, "community", props.community_name);
    field(details, "workers", (props.grid_workers && props.grid_workers.length) ? props.grid_workers.join("、") : i18n.none);
    details.hidden = false;
    empty.hidden = true;
    link.href = "/regions/" + encodeURIComponent(props.code) + "/";
    link.hidden = false;
  }

  function showBuilding(b, estate, name) {
    field(building, "name", name);
    field(building, "estate", estate ? estate.name : "—");
    field(building, "code", b.code);
    building.hidden = false;
    empty.hidden = true;
    if (b.url) {
      roomsLink.href = b.url;
      roomsLink.hidden = false;
    } else {
      roomsLink.hidden = true;
    }
  }

  ShequMap.grids(map, config, { townships: true, select: true, onClick: showGrid }).ready.catch(function () {
    empty.textContent = i18n.error;
  });
  ShequMap.features(map, config, { onBuilding: showBuilding });
  ShequMap.home(map, config);
  ShequMap.locator(map, {
    button: document.getElementById("show-location"),
    status: document.getElementById("location-status")
  });
})();

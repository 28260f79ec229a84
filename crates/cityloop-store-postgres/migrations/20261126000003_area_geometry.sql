-- Boundaries of districts, streets and communities (GeoJSON, CGCS2000/WGS84 lon/lat), so that unit
-- grids can be checked against the community they belong to and maps can draw the levels.
ALTER TABLE areas ADD COLUMN geometry TEXT;

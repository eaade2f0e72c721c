-- Demo machines of the seed (§1.1 A).  Loaded by `make run` only.

INSERT INTO machine_metadata (name, location, sensor_type, status)
VALUES
    ('CNC-Machine-01', 'Factory Floor 1 - Zone A', 'Temperature', 'active'),
    ('CNC-Machine-02', 'Factory Floor 1 - Zone A', 'Pressure', 'active'),
    ('Compressor-A1', 'Factory Floor 2 - Zone B', 'Pressure', 'active'),
    ('Compressor-A2', 'Factory Floor 2 - Zone B', 'Temperature', 'maintenance'),
    ('Conveyor-Belt-01', 'Warehouse - Section C', 'Speed', 'active'),
    ('Hydraulic-Press-01', 'Factory Floor 1 - Zone C', 'Pressure', 'active'),
    ('Cooling-Unit-01', 'Factory Floor 3 - Zone D', 'Temperature', 'inactive')
ON CONFLICT (name) DO NOTHING;

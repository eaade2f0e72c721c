-- Demo machines of the seed (§1.1 A), in the demo users' factory.  Loaded
-- by `make run` (and `make bench`) only, after the migrations.

INSERT INTO machine_metadata (name, location, sensor_type, status, factory_id)
VALUES
    ('CNC-Machine-01', 'Factory Floor 1 - Zone A', 'Temperature', 'active', 'factory-A'),
    ('CNC-Machine-02', 'Factory Floor 1 - Zone A', 'Pressure', 'active', 'factory-A'),
    ('Compressor-A1', 'Factory Floor 2 - Zone B', 'Pressure', 'active', 'factory-A'),
    ('Compressor-A2', 'Factory Floor 2 - Zone B', 'Temperature', 'maintenance', 'factory-A'),
    ('Conveyor-Belt-01', 'Warehouse - Section C', 'Speed', 'active', 'factory-A'),
    ('Hydraulic-Press-01', 'Factory Floor 1 - Zone C', 'Pressure', 'active', 'factory-A'),
    ('Cooling-Unit-01', 'Factory Floor 3 - Zone D', 'Temperature', 'inactive', 'factory-A')
ON CONFLICT (name) DO NOTHING;

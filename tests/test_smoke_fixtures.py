from tests.conftest import observation


def test_world_builds_and_projects(app, projector, world, system):
    amy = world["learners"]["amy"]
    app.record_observation(system, amy, **observation(world["amy"]["target"], "secure"))
    projector.catch_up()
    row = projector.reader().execute("SELECT latest, distance FROM targets WHERE id=?",
                                     [world["amy"]["target"]]).fetchone()
    assert tuple(row) == ("secure", 2)

from tests.cases.test_case_pages import *  # noqa
def test_dbg(client, session):
    _big_world(session)
    number = _through_verification(client, session)
    html = client.get(f"/cases/{number}").text
    i = html.find('data-testid="pay-form"')
    print("PAYFORM", i, html[i:i+800] if i>0 else html[html.find('h-actions'):html.find('h-actions')+2000])

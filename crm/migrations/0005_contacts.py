# Service records, tickets, leads (owned by the contacts work). Edit by hand; keep the chain.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_knowledge")]
    operations = []

# Customer search indexes (owned by the customers work). Edit by hand; keep the chain.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_divisions")]
    operations = []

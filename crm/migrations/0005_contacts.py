# Service records, tickets, leads (owned by the contacts work). Edit by hand; keep the chain.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_knowledge")]
    operations = [
        migrations.AddField(
            model_name="ticketevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("status", "Status change"),
                    ("assign", "Reassignment"),
                    ("comment", "Comment"),
                ],
                default="comment",
                max_length=20,
                verbose_name="kind",
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="servicerecord",
            index=models.Index(fields=["-at", "-id"], name="servicerecord_at_idx"),
        ),
        migrations.AddIndex(
            model_name="servicerecord",
            index=models.Index(fields=["agent", "-at"], name="servicerecord_agent_at_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["-day", "-last_at"], name="lead_day_last_idx"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["assigned_to", "-day"], name="lead_assigned_day_idx"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["station", "-day"], name="lead_station_day_idx"),
        ),
    ]

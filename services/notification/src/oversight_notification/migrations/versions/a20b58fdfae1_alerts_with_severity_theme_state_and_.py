"""alerts with severity, theme, state and log; groups, silences, subscriptions, the notification log

Revision ID: a20b58fdfae1
Revises: 83350bf2f364
Create Date: 2026-11-24 00:04:20.284094
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import oversight_runtime.storage


revision: str = 'a20b58fdfae1'
down_revision: str | None = '83350bf2f364'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('group_interval_seconds', sa.Float(), nullable=False),
    sa.Column('opened_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.Column('notify_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('notification_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_group_notify_at'), ['notify_at'], unique=False)

    op.create_table('package_record',
    sa.Column('package_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('theme', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('changed_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('package_id')
    )
    with op.batch_alter_table('package_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_record_provider'), ['provider'], unique=False)

    op.create_table('known_segment',
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('decided_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider')
    )
    op.create_table('silence',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('matchers', sa.JSON(), nullable=False),
    sa.Column('starts_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by', sa.JSON(), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('created_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('silence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_silence_organisation'), ['organisation'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('severities', sa.JSON(), nullable=False),
    sa.Column('alert_types', sa.JSON(), nullable=False),
    sa.Column('quiet_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
    sa.Column('quiet_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'channel', name='uq_subscription_user_channel')
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_organisation'), ['organisation'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_user_id'), ['user_id'], unique=False)

    op.create_table('alert_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sa.JSON(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_log_alert_id'), ['alert_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('alert_ids', sa.JSON(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'key', name='uq_notification_subscription_key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_status'), ['status'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='normal'))
        batch_op.add_column(sa.Column('theme', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='active'))
        batch_op.add_column(sa.Column('muted', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('muted_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('snoozed_until', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('source_event_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('occurred_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('changed_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_fingerprint'), ['fingerprint'], unique=False)

    with op.batch_alter_table('alert_audience', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('muted', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('muted_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('notified_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=True))
        batch_op.alter_column('organisation',
               existing_type=sa.VARCHAR(length=5),
               type_=sqlmodel.sql.sqltypes.AutoString(length=64),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_alert_audience_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key('fk_alert_audience_group_id', 'notification_group', ['group_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('alert_audience', schema=None) as batch_op:
        batch_op.drop_constraint('fk_alert_audience_group_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_audience_group_id'))
        batch_op.alter_column('organisation',
               existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
               type_=sa.VARCHAR(length=5),
               existing_nullable=False)
        batch_op.drop_column('notified_at')
        batch_op.drop_column('muted_by')
        batch_op.drop_column('muted')
        batch_op.drop_column('group_id')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_fingerprint'))
        batch_op.drop_column('changed_at')
        batch_op.drop_column('occurred_at')
        batch_op.drop_column('source_event_type')
        batch_op.drop_column('snoozed_until')
        batch_op.drop_column('muted_by')
        batch_op.drop_column('muted')
        batch_op.drop_column('status')
        batch_op.drop_column('fingerprint')
        batch_op.drop_column('theme')
        batch_op.drop_column('severity')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_status'))

    op.drop_table('notification')
    with op.batch_alter_table('alert_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_log_alert_id'))

    op.drop_table('alert_log')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_user_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_organisation'))

    op.drop_table('subscription')
    with op.batch_alter_table('silence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_silence_organisation'))

    op.drop_table('silence')
    op.drop_table('known_segment')
    with op.batch_alter_table('package_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_record_provider'))

    op.drop_table('package_record')
    with op.batch_alter_table('notification_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_group_notify_at'))

    op.drop_table('notification_group')

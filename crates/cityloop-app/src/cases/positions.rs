//! Field inspectors' last known positions: the mobile page sends them while it is open, and the
//! command centre shows who is where. Only the latest position per user is kept.

use chrono::Duration;
use cityloop_domain::{Action, Target};
use cityloop_geo::RawCoordinate;
use cityloop_store::PositionRecord;
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

/// A position older than this is not shown unless asked for.
const DEFAULT_WINDOW_MINUTES: i64 = 8 * 60;

#[derive(Debug, Clone, Serialize)]
pub struct PositionView {
    pub user_id: i64,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl App {
    /// Records where the reporting inspector is now. The point must be inside the city (with the
    /// same margin as reports); positions are not audited (one every minute per inspector).
    pub async fn report_position(
        &self,
        actor: &Actor,
        raw: &RawCoordinate,
        accuracy_m: Option<f64>,
        ctx: &Ctx,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            Action::PositionReport,
            &Target::Collection,
            Obj::kind("position"),
            ctx,
        )
        .await?;
        let Actor::User(p) = actor else {
            return Err(AppError::Forbidden("positions belong to users".into()));
        };
        if accuracy_m.is_some_and(|a| !a.is_finite() || a < 0.0) {
            return Err(AppError::rejected(
                "invalid_accuracy",
                "accuracy_m",
                "accuracy must be a non-negative number of metres",
            ));
        }
        let point = self.to_city_point(raw)?;
        let record = PositionRecord {
            user_id: p.user.id,
            lon: point.lon(),
            lat: point.lat(),
            accuracy_m,
            at: self.now(),
        };
        let mut tx = self.store.write().await?;
        tx.put_position(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Positions reported within the last `minutes` (default eight hours), newest first.
    pub async fn positions(
        &self,
        actor: &Actor,
        minutes: Option<i64>,
        ctx: &Ctx,
    ) -> AppResult<Vec<PositionView>> {
        self.authorize(
            actor,
            Action::PositionRead,
            &Target::Collection,
            Obj::kind("position"),
            ctx,
        )
        .await?;
        let minutes = minutes.unwrap_or(DEFAULT_WINDOW_MINUTES);
        if !(1..=7 * 24 * 60).contains(&minutes) {
            return Err(AppError::rejected(
                "invalid_window",
                "minutes",
                "between 1 minute and 7 days",
            ));
        }
        let (records, users) = {
            let mut tx = self.store.read().await?;
            (
                tx.positions_since(self.now() - Duration::minutes(minutes))
                    .await?,
                tx.list_users(&cityloop_store::UserQuery::default()).await?,
            )
        };
        Ok(records
            .into_iter()
            .map(|r| PositionView {
                name: users
                    .iter()
                    .find(|u| u.id == r.user_id)
                    .map(|u| u.display_name.clone())
                    .unwrap_or_default(),
                user_id: r.user_id,
                lon: r.lon,
                lat: r.lat,
                accuracy_m: r.accuracy_m,
                at: r.at,
            })
            .collect())
    }
}
